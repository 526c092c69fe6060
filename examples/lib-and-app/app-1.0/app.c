/* app: links libgreet, which the same spec builds first; strata makes libgreet's output
   visible read-only at /usr/include and /usr/lib while app builds. */
#include <greet.h>
#include <stdio.h>

int main(void) {
  printf("app says: %s\n", greet_message());
  return 0;
}
