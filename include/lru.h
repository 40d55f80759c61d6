/*
 * lru.h: intrusive doubly linked LRU list of entries; no locks (the shard's
 * lock covers it). head is the most recently used entry, tail the least.
 * Invariant: len equals the number of entries reachable from head, and
 * following next from head ends at tail.
 */
#ifndef LRU_H
#define LRU_H

#include <stddef.h>

#include "entry.h"

struct lru {
    struct entry *head;
    struct entry *tail;
    size_t len;
};

void lru_init(struct lru *l);
void lru_push_head(struct lru *l, struct entry *e);
void lru_unlink(struct lru *l, struct entry *e);
void lru_move_head(struct lru *l, struct entry *e);

#endif
