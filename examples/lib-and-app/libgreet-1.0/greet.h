/* libgreet: a tiny library that examples/lib-and-app builds, then links an app against. */
#ifndef GREET_H
#define GREET_H
const char* greet_message(void);
#endif
