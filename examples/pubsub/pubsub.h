/*
 * examples/pubsub/pubsub.h - a publish/subscribe broker: one topic
 * (hopsim/topic.h) per subject, and the rights to them handed out by name
 * over IPC, so that the broker is the one place that decides who may
 * publish and who may subscribe.
 *
 * The broker is a thread with a gate.  At start it creates a topic for
 * each subject it is given; each subject names the one client label that
 * may publish on it.  A client's capability to the gate carries its own
 * label (hs_cap_derive), by which the broker knows it.  The protocol, for
 * porting the broker or writing a client by hand: the tag's label is the
 * operation, the message is the subject's name in PUBSUB_NAME_WORDS words
 * (NUL padded, at most PUBSUB_NAME_MAX bytes), and the reply's mr[0] is
 * an hs_status; a reply of HS_OK carries one capability item after it
 * (mr[1], mr[2]: the client must take one, br[HS_BR_CAPS] >= 1).
 *
 *   subscribe  a capability to the subject's topic with HS_CAP_RECV only:
 *              enough for hs_topic_subscribe(), not to publish.  Anyone
 *              holding a capability to the gate may subscribe.
 *   publish    a capability with HS_CAP_SEND only, for hs_topic_pub_init():
 *              granted to the subject's publisher label alone, HS_EPERM
 *              for any other.
 *
 * Errors of both: HS_ENOPORT (no such subject), HS_EINVAL (an unknown
 * operation, a malformed name or message), or the status of a reply whose
 * capability could not land (HS_EQUOTA, ...).  Neither right carries
 * HS_CAP_GRANT: a client cannot pass what it was given on to another
 * process, so every right to a topic comes from the broker.
 *
 * Each topic has PUBSUB_SLOTS slots per subscriber, messages of up to
 * PUBSUB_MSG_MAX bytes, and the HS_CHAN_FAIL policy: a publish never
 * waits, and a subscriber whose ring is full misses the message, counted
 * by the publisher.  What a message holds is the clients' business.
 *
 * What it shows: capabilities as the unit of authority, handed out by a
 * server that holds the objects (the topics live as long as its process)
 * and passes each client a copy with just the rights its policy allows;
 * topics delivering each publisher's messages to every subscriber in
 * order.  What it does not do: revoke a right once given (the broker
 * could, with hs_cap_revoke on a per-client copy), change its subjects
 * or policy after start, replay messages to a late subscriber (it sees
 * only what is published after it subscribed), or retry a request whose
 * answer was lost (the client sees the IPC error and may ask again:
 * asking twice is harmless).
 */
#ifndef EXAMPLES_PUBSUB_PUBSUB_H
#define EXAMPLES_PUBSUB_PUBSUB_H

#include "hopsim.h"

#ifdef __cplusplus
extern "C" {
#endif

enum pubsub_op {
    PUBSUB_SUBSCRIBE = 1,
    PUBSUB_PUBLISH = 2,
};

#define PUBSUB_NAME_WORDS 2     /* words a subject's name takes */
#define PUBSUB_NAME_MAX 15      /* longest name, in bytes */
#define PUBSUB_SUBJECTS_MAX 8   /* subjects of one broker */
#define PUBSUB_SLOTS 16u        /* each subscriber's ring */
#define PUBSUB_MSG_MAX 8u       /* bytes of a message */

/* A subject the broker serves: its name and the label of the one
 * capability to the broker's gate through which publishing rights may be
 * asked for. */
struct pubsub_subject {
    const char *name;
    uint64_t publisher;
};

/* Create a topic for each of subjects[0..n-1], then serve the gates bound
 * to the calling thread for ever, with hs_ipc_serve(): a run left with
 * only the broker ends normally.  The subjects must stay valid while it
 * serves.  Returns HS_EINVAL (subjects NULL, n 0 or over
 * PUBSUB_SUBJECTS_MAX, a name empty or too long) or the error of
 * hs_topic_create() before serving; when receiving fails (HS_ECANCELED,
 * ...), destroys the topics and returns that error. */
hs_status pubsub_serve(const struct pubsub_subject *subjects, unsigned n);

/* Ask the broker through capability broker for the right to subscribe to
 * subject; *topic gets a capability with HS_CAP_RECV.  The call waits at
 * most timeout to be taken and as long for its answer.  Errors: HS_EINVAL
 * (subject NULL, empty or too long, topic NULL), HS_ENOPORT (no such
 * subject), or the IPC error of hs_ipc_call(). */
hs_status pubsub_subscribe(hs_cap_t broker, const char *subject,
                           hs_time_t timeout, hs_cap_t *topic);

/* Ask for the right to publish on subject; *topic gets a capability with
 * HS_CAP_SEND.  Errors as pubsub_subscribe(), and HS_EPERM: the caller's
 * label is not the subject's publisher. */
hs_status pubsub_publisher(hs_cap_t broker, const char *subject,
                           hs_time_t timeout, hs_cap_t *topic);

#ifdef __cplusplus
}
#endif

#endif
