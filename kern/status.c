/*
 * kern/status.c - names of the status values.
 */
#include "hopsim/status.h"

static const char *const names[HS_STATUS_COUNT] = {
    [HS_OK] = "HS_OK (success)",
    [HS_EINVAL] = "HS_EINVAL (invalid argument)",
    [HS_ESTATE] = "HS_ESTATE (call not allowed in this state)",
    [HS_ENOMEM] = "HS_ENOMEM (out of memory)",
    [HS_ELIMIT] = "HS_ELIMIT (configured limit reached)",
    [HS_ESRCH] = "HS_ESRCH (no such process or thread)",
    [HS_ENOTCHILD] = "HS_ENOTCHILD (not a child of the caller)",
    [HS_EPERM] = "HS_EPERM (permission denied)",
    [HS_EJOINED] = "HS_EJOINED (already joined or waited for)",
    [HS_ETIMEOUT] = "HS_ETIMEOUT (timeout expired)",
    [HS_EDEADLK] = "HS_EDEADLK (deadlock)",
    [HS_EPANIC] = "HS_EPANIC (kernel panic)",
    [HS_EEXIST] = "HS_EEXIST (name or range already taken)",
    [HS_ENOPORT] = "HS_ENOPORT (no such port)",
    [HS_ECLOSED] = "HS_ECLOSED (port or channel closed)",
    [HS_ENOHANDLER] = "HS_ENOHANDLER (no handler to run)",
    [HS_ENOSTACK] = "HS_ENOSTACK (receiver has no stack to give)",
    [HS_EDEPTH] = "HS_EDEPTH (maximum hop depth reached)",
    [HS_EPARTNER] = "HS_EPARTNER (partner process ended)",
    [HS_ESTALE] = "HS_ESTALE (already used, or the partner stopped waiting)",
    [HS_EBADCAP] = "HS_EBADCAP (invalid or revoked capability)",
    [HS_ENOREPLY] = "HS_ENOREPLY (no call to reply to)",
    [HS_EQUOTA] = "HS_EQUOTA (factory quota exceeded)",
    [HS_ECANCELED] = "HS_ECANCELED (operation cancelled)",
    [HS_EMSGCUT] = "HS_EMSGCUT (receiver does not take the typed items)",
    [HS_ECHECK] = "HS_ECHECK (the scenario's check failed)",
    [HS_ERANGE] = "HS_ERANGE (address range out of bounds)",
    [HS_ENOMAP] = "HS_ENOMAP (no mapping at that address)",
    [HS_EFAULT] = "HS_EFAULT (bad memory access)",
    [HS_ENOFRAME] = "HS_ENOFRAME (out of simulated frames)",
    [HS_ENOENT] = "HS_ENOENT (no such share-point)",
    [HS_EABANDONED] = "HS_EABANDONED (the receiver abandoned the message)",
    [HS_EFULL] = "HS_EFULL (channel full)",
    [HS_EMSGSIZE] = "HS_EMSGSIZE (message too large)",
    [HS_ERATE] = "HS_ERATE (channel rate limit exceeded)",
    [HS_EFILTER] = "HS_EFILTER (message type filtered out)",
};

const char *hs_strerror(hs_status status)
{
    if ((unsigned)status >= HS_STATUS_COUNT || !names[status])
        return "HS_E? (unknown status)";
    return names[status];
}
