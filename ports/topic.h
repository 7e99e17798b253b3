/*
 * ports/topic.h - multicast topics, the kernel side (hopsim/topic.h).
 *
 * A topic is a list of subscriptions; the rings and their ends are
 * channels (ports/chan.c), which the topic never touches but through
 * capabilities.  Each subscription records its anchor: a send capability
 * to the subscriber's channel, in the subscriber's space, derived from
 * the topic capability it subscribed with.  The subscription's held end
 * and every publisher's end come through the anchor (the publishers'
 * capabilities are derived from it), so when the anchor stops being
 * valid every sending end of the ring is revoked and the ring closes.
 * Ending a topic therefore bumps the revocation generation of each
 * subscriber's topic capability: they name a dead topic anyway.
 */
#ifndef HOPSIM_PORTS_TOPIC_H
#define HOPSIM_PORTS_TOPIC_H

#include <stdint.h>

#include "kern/object.h"

struct proc;

/* The topic handle h names, or NULL. */
struct topic *topic_lookup(uint64_t h);

/* The pools of a run (hs_sim_start) and their release (teardown). */
void topic_start(void);
void topic_stop(void);

/* p ends: its subscriptions leave their topics and the topics it created
 * end.  Before its capabilities are freed; the caller then has the
 * channels look at capabilities again (chan_caps_changed). */
void topic_proc_end(struct proc *p);

extern const struct kobj_type topic_type;

#endif
