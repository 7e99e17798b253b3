/*
 * examples/servers/names.c - the name server and its client calls (see
 * names.h).
 */
#include <string.h>

#include "names.h"

struct entry {
    char name[NAMES_MAX_LEN + 1];   /* "" : free */
    hs_cap_t cap;                   /* in the server's space */
    uint64_t owner;                 /* label of the registrant */
};

/* ---- the message: a name in NAMES_WORDS words ------------------------------ */

static int name_ok(const char *name)
{
    return name && *name && strnlen(name, NAMES_MAX_LEN + 1) <= NAMES_MAX_LEN;
}

static void name_put(uint64_t *mr, const char *name)
{
    memset(mr, 0, NAMES_WORDS * sizeof *mr);
    memcpy(mr, name, strlen(name));
}

/* The name in mr into buf; 0 if it is not a valid one. */
static int name_get(const uint64_t *mr, char *buf)
{
    memcpy(buf, mr, NAMES_WORDS * sizeof *mr);
    buf[NAMES_WORDS * sizeof *mr - 1] = '\0';
    return name_ok(buf);
}

/* ---- the server ---------------------------------------------------------- */

static struct entry *find(struct entry *tab, const char *name)
{
    for (int i = 0; i < NAMES_CAPACITY; i++)
        if (tab[i].name[0] && strcmp(tab[i].name, name) == 0)
            return &tab[i];
    return NULL;
}

static struct entry *free_entry(struct entry *tab)
{
    for (int i = 0; i < NAMES_CAPACITY; i++)
        if (!tab[i].name[0])
            return &tab[i];
    return NULL;
}

static void entry_drop(struct entry *e)
{
    (void)hs_cap_delete(e->cap);
    memset(e, 0, sizeof *e);
}

/* Answer with a status and nothing else. */
static hs_status answer(hs_status result)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(0, 1);
    u->mr[0] = (uint64_t)result;
    return hs_ipc_reply();
}

/* A registration sent again (NAMES_RETRY) because the answer to the
 * first was lost, when the first took the name for this client: the
 * answer is the first one's, HS_OK.  The capability kept the first time
 * stays (lookups may have handed out copies derived from it); the second
 * copy goes. */
static hs_status register_again(hs_cap_t cap)
{
    (void)hs_cap_delete(cap);
    return answer(HS_OK);
}

static hs_status do_register(struct entry *tab, const char *name,
                             uint64_t label, int retry)
{
    hs_utcb_t *u = hs_utcb();
    if (hs_tag_words(u->tag) != NAMES_WORDS || hs_tag_items(u->tag) != 1)
        return answer(HS_EINVAL);
    hs_cap_t cap = (hs_cap_t)u->mr[NAMES_WORDS + 1];
    struct entry *mine = find(tab, name);
    if (retry && mine && mine->owner == label)
        return register_again(cap);
    struct entry *e = find(tab, name) ? NULL : free_entry(tab);
    if (!e) {
        (void)hs_cap_delete(cap);       /* not kept: not leaked */
        return answer(find(tab, name) ? HS_EEXIST : HS_ELIMIT);
    }
    strcpy(e->name, name);
    e->cap = cap;
    e->owner = label;
    return answer(HS_OK);
}

static hs_status do_lookup(struct entry *tab, const char *name)
{
    hs_utcb_t *u = hs_utcb();
    struct entry *e = find(tab, name);
    unsigned rights = (unsigned)u->mr[NAMES_WORDS];
    if (!e)
        return answer(HS_ENOPORT);
    u->tag = HS_TAG_ITEMS(0, 1, 1);
    u->mr[0] = HS_OK;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, rights);
    u->mr[2] = e->cap;
    hs_status st = hs_ipc_reply();
    /* A reply refused for its message keeps the reply capability, and the
     * caller waits until it is answered: the next receive would end the
     * capability and leave the caller waiting for ever.  Say why. */
    if (st == HS_EBADCAP) {             /* its server is gone */
        entry_drop(e);
        return answer(HS_ENOPORT);
    }
    if (st != HS_OK && st != HS_ESTALE && st != HS_ENOREPLY)
        return answer(st);
    return st;
}

static hs_status do_unregister(struct entry *tab, const char *name,
                               uint64_t label)
{
    struct entry *e = find(tab, name);
    if (!e)
        return answer(HS_ENOPORT);
    if (e->owner != label)
        return answer(HS_EPERM);
    entry_drop(e);
    return answer(HS_OK);
}

hs_status names_serve(hs_cap_t gate, uint64_t stop_label)
{
    struct entry tab[NAMES_CAPACITY];
    memset(tab, 0, sizeof tab);
    hs_utcb_t *u = hs_utcb();
    for (;;) {
        uint64_t label = 0;
        u->br[HS_BR_CAPS] = 1;
        hs_status st = hs_ipc_recv(gate, HS_NEVER, &label);
        if (st != HS_OK)
            return st;
        char name[NAMES_WORDS * sizeof(uint64_t)];
        uint32_t op = hs_tag_label(u->tag) & ~(uint32_t)NAMES_RETRY;
        int retry = (hs_tag_label(u->tag) & NAMES_RETRY) != 0;
        if (op == NAMES_STOP) {
            int mine = label == stop_label;
            (void)answer(mine ? HS_OK : HS_EPERM);
            if (mine)
                return HS_OK;
            continue;
        }
        if (hs_tag_words(u->tag) < NAMES_WORDS || !name_get(u->mr, name)) {
            if (hs_tag_items(u->tag))   /* a capability we will not keep */
                (void)hs_cap_delete(
                    (hs_cap_t)u->mr[hs_tag_words(u->tag) + 1]);
            (void)answer(HS_EINVAL);
            continue;
        }
        switch (op) {
        case NAMES_REGISTER:
            (void)do_register(tab, name, label, retry);
            break;
        case NAMES_LOOKUP:
            (void)do_lookup(tab, name);
            break;
        case NAMES_UNREGISTER:
            (void)do_unregister(tab, name, label);
            break;
        default:
            (void)answer(HS_EINVAL);
        }
    }
}

/* ---- the client calls ------------------------------------------------------ */

/* Whether a failed call reached the server and lost its answer: the
 * receive half timed out although it waits for ever (the kernel gave up
 * for the caller just before the answer landed).  The request may or may
 * not have taken effect. */
static int answer_lost(hs_status st)
{
    return st == HS_ETIMEOUT && hs_utcb()->phase == HS_PHASE_RECV;
}

/* Call the server with op and words message registers (items typed
 * items after them) already in the UTCB.  A call whose answer was lost is
 * sent again, marked NAMES_RETRY, at most NAMES_RETRIES times; *retried
 * (may be NULL) says whether that happened.  The status is the server's
 * answer, or the IPC error. */
static hs_status ns_request(hs_cap_t ns, enum names_op op, unsigned words,
                            unsigned items, int *retried)
{
    hs_utcb_t *u = hs_utcb();
    uint64_t msg[NAMES_WORDS + 3];
    unsigned n = words + 2 * items;
    memcpy(msg, u->mr, n * sizeof *msg);
    uint32_t label = op;
    for (int tries = 0;; tries++) {
        u->tag = HS_TAG_ITEMS(label, words, items);
        hs_status st = hs_ipc_call(ns, HS_NEVER, HS_NEVER);
        if (st == HS_OK)
            return (hs_status)u->mr[0];
        if (!answer_lost(st) || tries == NAMES_RETRIES)
            return st;
        memcpy(u->mr, msg, n * sizeof *msg);
        label = op | NAMES_RETRY;
        if (retried)
            *retried = 1;
    }
}

/* A request with a name and extra words and items after it. */
static hs_status ns_call(hs_cap_t ns, enum names_op op, unsigned extra,
                         unsigned items, int *retried)
{
    return ns_request(ns, op, NAMES_WORDS + extra, items, retried);
}

hs_status names_register(hs_cap_t ns, const char *name, hs_cap_t cap)
{
    if (!name_ok(name))
        return HS_EINVAL;
    hs_utcb_t *u = hs_utcb();
    hs_cap_info info;
    hs_status st = hs_cap_info_get(cap, &info);
    if (st != HS_OK)
        return st;
    name_put(u->mr, name);
    /* Pass on every right the capability has. */
    u->mr[NAMES_WORDS] = HS_ITEM(HS_ITEM_CAP, info.rights);
    u->mr[NAMES_WORDS + 1] = cap;
    return ns_call(ns, NAMES_REGISTER, 0, 1, NULL);
}

static hs_status lookup_once(hs_cap_t ns, const char *name, unsigned rights,
                             hs_cap_t *out)
{
    hs_utcb_t *u = hs_utcb();
    uint64_t window = u->br[HS_BR_CAPS];
    u->br[HS_BR_CAPS] = 1;
    name_put(u->mr, name);
    u->mr[NAMES_WORDS] = rights;
    hs_status st = ns_call(ns, NAMES_LOOKUP, 1, 0, NULL);
    u->br[HS_BR_CAPS] = window;
    if (st == HS_OK)
        *out = (hs_cap_t)u->mr[2];
    return st;
}

hs_status names_lookup(hs_cap_t ns, const char *name, unsigned rights,
                       hs_time_t timeout, hs_cap_t *out)
{
    const hs_time_t step = 1000000;     /* 1 ms of virtual time */
    if (!name_ok(name) || !out || !rights || (rights & ~HS_CAP_ALL))
        return HS_EINVAL;
    hs_time_t waited = 0;
    for (;;) {
        hs_status st = lookup_once(ns, name, rights, out);
        if (st != HS_ENOPORT || timeout == HS_NOWAIT)
            return st;
        if (timeout != HS_NEVER && waited >= timeout)
            return HS_ETIMEOUT;
        hs_time_t nap = (timeout != HS_NEVER && timeout - waited < step)
                            ? timeout - waited : step;
        st = hs_thread_sleep(nap);
        if (st != HS_OK)
            return st;
        waited += nap;
    }
}

hs_status names_unregister(hs_cap_t ns, const char *name)
{
    if (!name_ok(name))
        return HS_EINVAL;
    name_put(hs_utcb()->mr, name);
    int retried = 0;
    hs_status st = ns_call(ns, NAMES_UNREGISTER, 0, 0, &retried);
    /* Not there any more: the lost first answer was the success. */
    return retried && st == HS_ENOPORT ? HS_OK : st;
}

hs_status names_stop(hs_cap_t ns)
{
    int retried = 0;
    hs_status st = ns_request(ns, NAMES_STOP, 0, 0, &retried);
    /* The server is gone: the lost first answer was the success. */
    if (retried && (st == HS_EBADCAP || st == HS_EPARTNER))
        return HS_OK;
    return st;
}
