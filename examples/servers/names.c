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

/* A lookup held until its name is registered: its kept call. */
struct held {
    char name[NAMES_MAX_LEN + 1];   /* "" : free */
    hs_reply_t reply;
    unsigned rights;                /* the rights it asked for */
    hs_time_t deadline;             /* its caller gives up then */
};

/* What one server holds. */
struct names {
    struct entry tab[NAMES_CAPACITY];
    struct held held[NAMES_HELD_MAX];
};

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

/* Put a status, and nothing else, in the UTCB as the answer. */
static void answer_put(hs_status result)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(0, 1);
    u->mr[0] = (uint64_t)result;
}

/* Answer with a status and nothing else. */
static hs_status answer(hs_status result)
{
    answer_put(result);
    return hs_ipc_reply();
}

/* Put a found name's answer in the UTCB: HS_OK and a copy of its
 * capability with rights. */
static void found_put(const struct entry *e, unsigned rights)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(0, 1, 1);
    u->mr[0] = HS_OK;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, rights);
    u->mr[2] = e->cap;
}

/* ---- held lookups ---------------------------------------------------------- */

/* Answer held lookup h with status st and free its slot.  A caller that
 * gave up (HS_ESTALE) is just dropped: the kernel freed its kept reply. */
static void held_end(struct held *h, hs_status st)
{
    answer_put(st);
    (void)hs_ipc_reply_to(h->reply);
    memset(h, 0, sizeof *h);
}

/* Answer held lookup h with registered entry e.  Returns 0 if e turned
 * out dead (its object is gone, HS_EBADCAP): e is dropped and h stays
 * held, waiting for a live registration.  A refusal for the message
 * itself (rights beyond those registered, no room for a capability)
 * leaves the reply kept: the answer then says why. */
static int held_answer(struct held *h, struct entry *e)
{
    found_put(e, h->rights);
    hs_status st = hs_ipc_reply_to(h->reply);
    if (st == HS_EBADCAP) {
        entry_drop(e);
        return 0;
    }
    if (st == HS_OK || st == HS_ESTALE)
        memset(h, 0, sizeof *h);
    else
        held_end(h, st);
    return 1;
}

/* A name was registered: answer every lookup held for it. */
static void held_wake(struct names *ns, struct entry *e)
{
    char name[NAMES_MAX_LEN + 1];
    strcpy(name, e->name);              /* e may be dropped on the way */
    for (int i = 0; i < NAMES_HELD_MAX; i++) {
        struct held *h = &ns->held[i];
        if (h->name[0] && strcmp(h->name, name) == 0 && !held_answer(h, e))
            return;
    }
}

/* Answer the held lookups whose callers' deadlines have passed with
 * HS_ETIMEOUT: their callers have given up (or are about to, at this
 * very time), and their kept replies are freed. */
static void held_expire(struct names *ns)
{
    hs_time_t now = hs_time_now();
    for (int i = 0; i < NAMES_HELD_MAX; i++) {
        struct held *h = &ns->held[i];
        if (h->name[0] && h->deadline != HS_NEVER && now >= h->deadline)
            held_end(h, HS_ETIMEOUT);
    }
}

/* Answer every held lookup with st (the server stops). */
static void held_flush(struct names *ns, hs_status st)
{
    for (int i = 0; i < NAMES_HELD_MAX; i++)
        if (ns->held[i].name[0])
            held_end(&ns->held[i], st);
}

static struct held *held_free(struct names *ns)
{
    for (int i = 0; i < NAMES_HELD_MAX; i++)
        if (!ns->held[i].name[0])
            return &ns->held[i];
    return NULL;
}

/* Hold the lookup just received (name, rights, deadline) until its name
 * is registered; HS_ELIMIT if NAMES_HELD_MAX are held already. */
static void hold(struct names *ns, const char *name, unsigned rights,
                 hs_time_t deadline)
{
    struct held *h = held_free(ns);
    if (!h) {
        held_expire(ns);
        h = held_free(ns);
    }
    if (!h) {
        (void)answer(HS_ELIMIT);
        return;
    }
    if (hs_ipc_reply_keep(&h->reply) != HS_OK)
        return;                         /* its caller is gone already */
    strcpy(h->name, name);
    h->rights = rights;
    h->deadline = deadline;
}

/* ---- the requests ---------------------------------------------------------- */

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

static void do_register(struct names *ns, const char *name, uint64_t label,
                        int retry)
{
    hs_utcb_t *u = hs_utcb();
    if (hs_tag_words(u->tag) != NAMES_WORDS || hs_tag_items(u->tag) != 1) {
        (void)answer(HS_EINVAL);
        return;
    }
    hs_cap_t cap = (hs_cap_t)u->mr[NAMES_WORDS + 1];
    struct entry *mine = find(ns->tab, name);
    if (retry && mine && mine->owner == label) {
        (void)register_again(cap);
        return;
    }
    struct entry *e = mine ? NULL : free_entry(ns->tab);
    if (!e) {
        (void)hs_cap_delete(cap);       /* not kept: not leaked */
        (void)answer(mine ? HS_EEXIST : HS_ELIMIT);
        return;
    }
    strcpy(e->name, name);
    e->cap = cap;
    e->owner = label;
    (void)answer(HS_OK);
    held_wake(ns, e);
}

/* A lookup: answered at once if the name is registered, or if its caller
 * will not wait (no deadline word, or one passed); else held. */
static void do_lookup(struct names *ns, const char *name)
{
    hs_utcb_t *u = hs_utcb();
    unsigned rights = (unsigned)u->mr[NAMES_WORDS];
    hs_time_t deadline = hs_tag_words(u->tag) > NAMES_WORDS + 1
                         ? (hs_time_t)u->mr[NAMES_WORDS + 1] : HS_NOWAIT;
    int may_wait = deadline == HS_NEVER || deadline > hs_time_now();
    struct entry *e = find(ns->tab, name);
    if (!e) {
        if (may_wait)
            hold(ns, name, rights, deadline);
        else
            (void)answer(HS_ENOPORT);
        return;
    }
    found_put(e, rights);
    hs_status st = hs_ipc_reply();
    /* A reply refused for its message keeps the reply capability, and the
     * caller waits until it is answered: the next receive would end the
     * capability and leave the caller waiting for ever.  Say why. */
    if (st == HS_EBADCAP) {             /* its server is gone */
        entry_drop(e);
        if (may_wait)
            hold(ns, name, rights, deadline);
        else
            (void)answer(HS_ENOPORT);
        return;
    }
    if (st != HS_OK && st != HS_ESTALE && st != HS_ENOREPLY)
        (void)answer(st);
}

static void do_unregister(struct names *ns, const char *name,
                          uint64_t label)
{
    struct entry *e = find(ns->tab, name);
    if (!e)
        (void)answer(HS_ENOPORT);
    else if (e->owner != label)
        (void)answer(HS_EPERM);
    else {
        entry_drop(e);
        (void)answer(HS_OK);
    }
}

/* One request received into the UTCB, through a capability labelled
 * label.  Returns 1 when it stopped the server. */
static int serve_one(struct names *ns, uint64_t label, uint64_t stop_label)
{
    hs_utcb_t *u = hs_utcb();
    char name[NAMES_WORDS * sizeof(uint64_t)];
    uint32_t op = hs_tag_label(u->tag) & ~(uint32_t)NAMES_RETRY;
    int retry = (hs_tag_label(u->tag) & NAMES_RETRY) != 0;
    if (op == NAMES_STOP) {
        int mine = label == stop_label;
        (void)answer(mine ? HS_OK : HS_EPERM);
        return mine;
    }
    if (hs_tag_words(u->tag) < NAMES_WORDS || !name_get(u->mr, name)) {
        if (hs_tag_items(u->tag))       /* a capability we will not keep */
            (void)hs_cap_delete((hs_cap_t)u->mr[hs_tag_words(u->tag) + 1]);
        (void)answer(HS_EINVAL);
        return 0;
    }
    switch (op) {
    case NAMES_REGISTER:
        do_register(ns, name, label, retry);
        break;
    case NAMES_LOOKUP:
        do_lookup(ns, name);
        break;
    case NAMES_UNREGISTER:
        do_unregister(ns, name, label);
        break;
    default:
        (void)answer(HS_EINVAL);
    }
    return 0;
}

hs_status names_serve(hs_cap_t gate, uint64_t stop_label)
{
    struct names ns;
    memset(&ns, 0, sizeof ns);
    hs_utcb_t *u = hs_utcb();
    for (;;) {
        uint64_t label = 0;
        u->br[HS_BR_CAPS] = 1;
        hs_status st = hs_ipc_recv(gate, HS_NEVER, &label);
        if (st != HS_OK) {
            held_flush(&ns, HS_EPARTNER);
            return st;
        }
        if (serve_one(&ns, label, stop_label)) {
            held_flush(&ns, HS_EPARTNER);
            return HS_OK;
        }
        held_expire(&ns);
    }
}

/* ---- the client calls ------------------------------------------------------ */

/* Whether a failed call reached the server and lost its answer: the
 * receive half timed out before the caller's deadline (HS_NEVER: it
 * waits for ever), so the kernel gave up for the caller just before the
 * answer landed.  The request may or may not have taken effect. */
static int answer_lost(hs_status st, hs_time_t deadline)
{
    return st == HS_ETIMEOUT && hs_utcb()->phase == HS_PHASE_RECV &&
           (deadline == HS_NEVER || hs_time_now() < deadline);
}

/* Call the server with op and words message registers (items typed
 * items after them) already in the UTCB, waiting for the answer until
 * deadline (an absolute virtual time, or HS_NEVER).  A call whose answer
 * was lost is sent again, marked NAMES_RETRY, at most NAMES_RETRIES
 * times; *retried (may be NULL) says whether that happened.  The status
 * is the server's answer, or the IPC error (HS_ETIMEOUT at the
 * deadline). */
static hs_status ns_request(hs_cap_t ns, enum names_op op, unsigned words,
                            unsigned items, hs_time_t deadline, int *retried)
{
    hs_utcb_t *u = hs_utcb();
    uint64_t msg[NAMES_WORDS + 3];
    unsigned n = words + 2 * items;
    memcpy(msg, u->mr, n * sizeof *msg);
    uint32_t label = op;
    for (int tries = 0;; tries++) {
        u->tag = HS_TAG_ITEMS(label, words, items);
        hs_status st = hs_ipc_call(ns, HS_NEVER, hs_deadline(deadline));
        if (st == HS_OK)
            return (hs_status)u->mr[0];
        if (!answer_lost(st, deadline) || tries == NAMES_RETRIES)
            return st;
        memcpy(u->mr, msg, n * sizeof *msg);
        label = op | NAMES_RETRY;
        if (retried)
            *retried = 1;
    }
}

/* A request with a name and extra words and items after it, answered
 * however long it takes. */
static hs_status ns_call(hs_cap_t ns, enum names_op op, unsigned extra,
                         unsigned items, int *retried)
{
    return ns_request(ns, op, NAMES_WORDS + extra, items, HS_NEVER, retried);
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

/* The absolute time a wait of timeout from now ends (HS_NEVER for ever,
 * and for a sum past the clock's range). */
static hs_time_t deadline_of(hs_time_t timeout)
{
    hs_time_t now = hs_time_now();
    if (timeout == HS_NEVER || timeout > HS_NEVER - now)
        return HS_NEVER;
    return now + timeout;
}

hs_status names_lookup(hs_cap_t ns, const char *name, unsigned rights,
                       hs_time_t timeout, hs_cap_t *out)
{
    if (!name_ok(name) || !out || !rights || (rights & ~HS_CAP_ALL) ||
        (timeout != HS_NEVER && timeout > HS_TIMEOUT_MAX))
        return HS_EINVAL;
    hs_utcb_t *u = hs_utcb();
    uint64_t window = u->br[HS_BR_CAPS];
    u->br[HS_BR_CAPS] = 1;
    name_put(u->mr, name);
    u->mr[NAMES_WORDS] = rights;
    hs_status st;
    if (timeout == HS_NOWAIT) {
        st = ns_call(ns, NAMES_LOOKUP, 1, 0, NULL);
    } else {
        /* The deadline goes with the request: the server holds it until
         * the name is registered or the deadline passes. */
        hs_time_t deadline = deadline_of(timeout);
        u->mr[NAMES_WORDS + 1] = deadline;
        st = ns_request(ns, NAMES_LOOKUP, NAMES_WORDS + 2, 0, deadline,
                        NULL);
    }
    u->br[HS_BR_CAPS] = window;
    if (st == HS_OK)
        *out = (hs_cap_t)u->mr[2];
    return st;
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
    hs_status st = ns_request(ns, NAMES_STOP, 0, 0, HS_NEVER, &retried);
    /* The server is gone: the lost first answer was the success. */
    if (retried && (st == HS_EBADCAP || st == HS_EPARTNER))
        return HS_OK;
    return st;
}
