/* mmfault: fault injection for supervisor tests. See mmfault.h for the contract. */
#include "mmfault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errcode.h"

typedef struct chunk {
    struct chunk *next;
} chunk;

struct mmfault {
    uint64_t rate, leaked;
    uint64_t carry_ms; /* elapsed time worth less than one byte, kept for the next call */
    chunk *head;
};

mmfault *mmfault_new(uint64_t bytes_per_s)
{
    mmfault *f = calloc(1, sizeof *f);
    if (f)
        f->rate = bytes_per_s;
    return f;
}

int mmfault_leak(mmfault *f, uint64_t elapsed_ms)
{
    if (f->leaked >= MMFAULT_LEAK_MAX)
        return ERR_FULL;
    uint64_t ms = elapsed_ms + f->carry_ms;
    uint64_t bytes = f->rate * ms / 1000;
    f->carry_ms = bytes ? 0 : ms;
    if (bytes < sizeof(chunk))
        return 0;
    if (bytes > MMFAULT_LEAK_MAX - f->leaked)
        bytes = MMFAULT_LEAK_MAX - f->leaked;
    chunk *c = malloc(bytes);
    if (!c)
        return ERR_NOMEM;
    memset(c, 0xa5, bytes); /* touched: resident, not just reserved */
    c->next = f->head;
    f->head = c;
    f->leaked += bytes;
    return 0;
}

uint64_t mmfault_leaked(const mmfault *f)
{
    return f ? f->leaked : 0;
}

void mmfault_free(mmfault *f)
{
    if (!f)
        return;
    while (f->head) {
        chunk *c = f->head;
        f->head = c->next;
        free(c);
    }
    free(f);
}

void mmfault_hang(unsigned max_s)
{
    if (max_s > MMFAULT_HANG_MAX_S)
        max_s = MMFAULT_HANG_MAX_S;
    struct timespec left = {(time_t)max_s, 0};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}
