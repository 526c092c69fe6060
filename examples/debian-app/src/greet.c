#include <stdio.h>

void greet(const char* who) { printf("hello, %s, from a Debian-built toolchain\n", who); }
