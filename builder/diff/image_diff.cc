// Placeholder until the diff engine lands (issue 6, in progress).
#include "builder/diff/image_diff.h"
