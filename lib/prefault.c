#include "prefault.h"

void prefault(void *p, size_t n)
{
    volatile unsigned char *b = p;
    for (size_t i = 0; i < n; i += 4096)
        b[i] = 0;
    if (n)
        b[n - 1] = 0;
}
