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
    e->prev = NULL;
    e->next = l->head;
    if (l->head != NULL)
        l->head->prev = e;
    else
        l->tail = e;
    l->head = e;
    l->len++;
}

void
lru_unlink(struct lru *l, struct entry *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
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
