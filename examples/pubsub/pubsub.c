/*
 * examples/pubsub/pubsub.c - the publish/subscribe broker and its client
 * calls (see pubsub.h).
 */
#include <string.h>

#include "pubsub.h"

#define NAME_BYTES (PUBSUB_NAME_WORDS * sizeof(uint64_t))

struct topic {
    char name[NAME_BYTES];      /* NUL padded */
    uint64_t publisher;         /* the label that may publish */
    hs_cap_t cap;               /* the topic, every right */
};

struct broker {
    struct topic t[PUBSUB_SUBJECTS_MAX];
    unsigned n;
};

/* Copy a name of 1..PUBSUB_NAME_MAX bytes, NUL padded, into buf
 * (NAME_BYTES); 0 if it has no such length. */
static int name_pad(const char *name, char *buf)
{
    size_t len = name ? strnlen(name, PUBSUB_NAME_MAX + 1) : 0;
    if (len == 0 || len > PUBSUB_NAME_MAX)
        return 0;
    memset(buf, 0, NAME_BYTES);
    memcpy(buf, name, len);
    return 1;
}

/* The name in message registers mr[0..PUBSUB_NAME_WORDS-1] into buf
 * (NAME_BYTES); 0 if it is empty or not NUL terminated. */
static int name_get(const uint64_t *mr, char *buf)
{
    memcpy(buf, mr, NAME_BYTES);
    return buf[0] != '\0' && buf[NAME_BYTES - 1] == '\0';
}

/* Answer the call just received with status st and no capability. */
static void answer(hs_status st)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(0, 1);
    u->mr[0] = (uint64_t)st;
    (void)hs_ipc_reply();       /* a caller that gave up is no matter */
}

/* Answer HS_OK with a copy of cap carrying rights.  A reply refused for
 * its message (the capability cannot land in the caller's space) keeps
 * the reply capability, and its caller would wait until the next receive
 * ended it: say why instead. */
static void grant(hs_cap_t cap, unsigned rights)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(0, 1, 1);
    u->mr[0] = HS_OK;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, rights);
    u->mr[2] = cap;
    hs_status st = hs_ipc_reply();
    if (st != HS_OK && st != HS_ESTALE && st != HS_ENOREPLY)
        answer(st);
}

static const struct topic *find(const struct broker *b, const char *name)
{
    for (unsigned i = 0; i < b->n; i++)
        if (memcmp(b->t[i].name, name, NAME_BYTES) == 0)
            return &b->t[i];
    return NULL;
}

/* The policy: anyone may subscribe; only the subject's publisher label
 * may publish. */
static void handle(const struct broker *b, uint64_t label)
{
    hs_utcb_t *u = hs_utcb();
    uint32_t op = hs_tag_label(u->tag);
    char name[NAME_BYTES];
    if ((op != PUBSUB_SUBSCRIBE && op != PUBSUB_PUBLISH) ||
        hs_tag_words(u->tag) != PUBSUB_NAME_WORDS ||
        hs_tag_items(u->tag) != 0 || !name_get(u->mr, name)) {
        answer(HS_EINVAL);
        return;
    }
    const struct topic *t = find(b, name);
    if (!t)
        answer(HS_ENOPORT);
    else if (op == PUBSUB_SUBSCRIBE)
        grant(t->cap, HS_CAP_RECV);
    else if (label != t->publisher)
        answer(HS_EPERM);
    else
        grant(t->cap, HS_CAP_SEND);
}

/* Destroy every topic, and delete the broker's capabilities to them,
 * which a destroyed topic leaves stale. */
static void destroy_topics(struct broker *b)
{
    for (unsigned i = 0; i < b->n; i++) {
        (void)hs_topic_destroy(b->t[i].cap);
        (void)hs_cap_delete(b->t[i].cap);
    }
    b->n = 0;
}

/* A topic for each subject; on an error, none. */
static hs_status create_topics(struct broker *b,
                               const struct pubsub_subject *s, unsigned n)
{
    hs_topic_attr a = { .slots = PUBSUB_SLOTS, .msg_max = PUBSUB_MSG_MAX,
                        .overflow = HS_CHAN_FAIL };
    for (unsigned i = 0; i < n; i++) {
        struct topic *t = &b->t[i];
        t->publisher = s[i].publisher;
        hs_status st = name_pad(s[i].name, t->name) ? HS_OK : HS_EINVAL;
        if (st == HS_OK)
            st = hs_topic_create(&a, &t->cap);
        if (st != HS_OK) {
            destroy_topics(b);
            return st;
        }
        b->n = i + 1;
    }
    return HS_OK;
}

hs_status pubsub_serve(const struct pubsub_subject *subjects, unsigned n)
{
    if (!subjects || n == 0 || n > PUBSUB_SUBJECTS_MAX)
        return HS_EINVAL;
    struct broker b = { .n = 0 };
    hs_status st = create_topics(&b, subjects, n);
    if (st != HS_OK)
        return st;
    for (;;) {
        uint64_t label = 0;
        st = hs_ipc_serve(&label);
        if (st != HS_OK)
            break;
        handle(&b, label);
    }
    destroy_topics(&b);
    return st;
}

/* ---- the client calls ---------------------------------------------- */

static hs_status ask(hs_cap_t broker, enum pubsub_op op, const char *subject,
                     hs_time_t timeout, hs_cap_t *topic)
{
    hs_utcb_t *u = hs_utcb();
    char name[NAME_BYTES];
    if (!topic || !name_pad(subject, name))
        return HS_EINVAL;
    memcpy(u->mr, name, NAME_BYTES);
    u->tag = HS_TAG(op, PUBSUB_NAME_WORDS);
    uint64_t window = u->br[HS_BR_CAPS];
    u->br[HS_BR_CAPS] = 1;
    hs_status st = hs_ipc_call(broker, timeout, timeout);
    u->br[HS_BR_CAPS] = window;
    if (st != HS_OK)
        return st;
    if ((hs_status)u->mr[0] != HS_OK)
        return (hs_status)u->mr[0];
    if (hs_tag_words(u->tag) != 1 || hs_tag_items(u->tag) != 1)
        return HS_EINVAL;       /* not this broker's answer */
    *topic = (hs_cap_t)u->mr[2];
    return HS_OK;
}

hs_status pubsub_subscribe(hs_cap_t broker, const char *subject,
                           hs_time_t timeout, hs_cap_t *topic)
{
    return ask(broker, PUBSUB_SUBSCRIBE, subject, timeout, topic);
}

hs_status pubsub_publisher(hs_cap_t broker, const char *subject,
                           hs_time_t timeout, hs_cap_t *topic)
{
    return ask(broker, PUBSUB_PUBLISH, subject, timeout, topic);
}
