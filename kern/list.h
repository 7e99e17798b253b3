/*
 * kern/list.h - intrusive circular doubly-linked lists.
 *
 * A struct list is both a list head and a link inside an object; an
 * unlinked link points to itself, so list_unlink() is safe to repeat.
 */
#ifndef HOPSIM_KERN_LIST_H
#define HOPSIM_KERN_LIST_H

#include <stddef.h>

struct list {
    struct list *prev, *next;
};

#define container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list *l)
{
    l->prev = l->next = l;
}

static inline int list_empty(const struct list *l)
{
    return l->next == l;
}

static inline void list_insert_after(struct list *pos, struct list *n)
{
    n->prev = pos;
    n->next = pos->next;
    pos->next->prev = n;
    pos->next = n;
}

/* Append n at the tail of head. */
static inline void list_push_back(struct list *head, struct list *n)
{
    list_insert_after(head->prev, n);
}

/* Insert n at the front of head. */
static inline void list_push_front(struct list *head, struct list *n)
{
    list_insert_after(head, n);
}

static inline void list_unlink(struct list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

#define list_for_each(pos, head) \
    for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* Safe against unlinking pos inside the loop. */
#define list_for_each_safe(pos, tmp, head)                          \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
