// Placeholder until the sandbox library lands (issue 3).
#pragma once
