// Placeholder (issue 6, in progress).
