/*
 * rpc_budget.c: the reply budget declared in rpc_budget.h.
 *
 * State: rpc_budget_mu guards the total and the table of connections with
 * bytes in flight: RPC_BUDGET_BUCKETS chains of nodes keyed by gRPC's peer
 * string ("ipv4:127.0.0.1:50418", unique per connection while it is open).
 * A node exists while its connection has bytes in flight and is freed when
 * they return to zero. Only replies of RPC_BUDGET_TRACK_BYTES or more come
 * here, so the lock is taken at most once per 16 KiB sent.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_budget.h"

#define RPC_BUDGET_BUCKETS 256

struct rpc_budget_conn {
    struct rpc_budget_conn *next;
    size_t bytes;
    char peer[]; /* NUL-terminated */
};

static pthread_mutex_t rpc_budget_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t rpc_budget_total;
static struct rpc_budget_conn *rpc_budget_table[RPC_BUDGET_BUCKETS];

static struct rpc_budget_conn **
rpc_budget_slot(const char *peer)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    struct rpc_budget_conn **p;

    for (const char *c = peer; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    p = &rpc_budget_table[h % RPC_BUDGET_BUCKETS];
    while (*p && strcmp((*p)->peer, peer) != 0)
        p = &(*p)->next;
    return p;
}

static bool
rpc_budget_fits(size_t used, size_t n, size_t max)
{
    return used == 0 || (used + n >= used && used + n <= max);
}

bool
rpc_budget_take(const char *peer, size_t n)
{
    struct rpc_budget_conn **p, *c;
    bool ok = false;

    pthread_mutex_lock(&rpc_budget_mu);
    p = rpc_budget_slot(peer);
    c = *p;
    if (rpc_budget_fits(rpc_budget_total, n, RPC_BUDGET_TOTAL_BYTES) &&
        rpc_budget_fits(c ? c->bytes : 0, n, RPC_BUDGET_CONN_BYTES)) {
        if (!c && (c = calloc(1, sizeof *c + strlen(peer) + 1))) {
            strcpy(c->peer, peer);
            *p = c;
        }
        if (c) {
            c->bytes += n;
            rpc_budget_total += n;
            ok = true;
        }
    }
    pthread_mutex_unlock(&rpc_budget_mu);
    return ok;
}

void
rpc_budget_give(const char *peer, size_t n)
{
    struct rpc_budget_conn **p, *c;

    pthread_mutex_lock(&rpc_budget_mu);
    p = rpc_budget_slot(peer);
    c = *p;
    if (c) {
        c->bytes -= n;
        rpc_budget_total -= n;
        if (c->bytes == 0) {
            *p = c->next;
            free(c);
        }
    }
    pthread_mutex_unlock(&rpc_budget_mu);
}

size_t
rpc_budget_in_flight(void)
{
    size_t n;

    pthread_mutex_lock(&rpc_budget_mu);
    n = rpc_budget_total;
    pthread_mutex_unlock(&rpc_budget_mu);
    return n;
}

unsigned
rpc_budget_timeout_s(size_t n)
{
    return RPC_BUDGET_BASE_S + (unsigned)(n >> 20);
}
