/*
 * lru.c: intrusive doubly linked LRU list.
 */
#include "lru.h"

void
lru_init(struct lru *l)
{
    l->head = l->tail = NULL;
    l->len = 0;
}

void
lru_push_head(struct lru *l, struct entry *e)
{
    entry_set_prev(e, NULL);
    entry_set_next(e, l->head);
    if (l->head != NULL)
        entry_set_prev(l->head, e);
    else
        l->tail = e;
    l->head = e;
    l->len++;
}

void
lru_unlink(struct lru *l, struct entry *e)
{
    struct entry *prev = entry_prev(e), *next = entry_next(e);

    if (prev != NULL)
        entry_set_next(prev, next);
    else
        l->head = next;
    if (next != NULL)
        entry_set_prev(next, prev);
    else
        l->tail = prev;
    entry_set_prev(e, NULL);
    entry_set_next(e, NULL);
    l->len--;
}

void
lru_move_head(struct lru *l, struct entry *e)
{
    if (l->head == e)
        return;
    lru_unlink(l, e);
    lru_push_head(l, e);
}
