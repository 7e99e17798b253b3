/*
 * mem/mapdb.h - the mapping database: which leaf mapping was derived from
 * which, so that a mapping handed on can be taken back (hs_mem_revoke).
 *
 * A node stands for one leaf of one address space (a 4K, 2M or 1G page)
 * and lives exactly as long as the leaf does; the leaf carries the
 * derived bit (PTE_DERIVED, HS_MEM_DERIVED) while it has a node.  A node's
 * parent is the leaf of another process it was derived from:
 *
 *   A [2M leaf] ---share 2M---> B [2M leaf] ---share 4K---> C [4K leaf]
 *      node a                      node b, parent a            node c, parent b
 *
 * Every derived mapping maps frames of its parent's, so a node's frames
 * lie inside its parent's, and a node is never larger than its parent.
 * Who makes nodes: a shared or copy-on-write transfer between two
 * processes (one node per receiving page, its sender's leaf the parent),
 * a pager's hs_mem_fault_resolve with HS_XFER_SHARE, hs_pages_accept.  A
 * move hands the sender's node to the receiver's leaf (the receiver takes
 * the sender's place in the tree).  A copy, fresh memory, the kernel's own
 * frames (share-points, channel rings, devices) and transfers within one
 * process make none.
 *
 * When a leaf goes (unmapped, its process ending, broken copy-on-write),
 * its node goes and its children stay mapped, moving up to its parent, so
 * whoever mapped the page onward first can still take it all back.  A
 * node with neither parent nor children is freed at once (a root needs a
 * child): a page shared and then unmapped by its receiver is back to no
 * node at all.  When a leaf splits, its node splits with it into 512
 * nodes under the same parent; children of the old size split with it in
 * their own address spaces (the same frames, so the same cut), smaller
 * children move to the piece that holds their frames.
 *
 * Every change can be checked first: mapdb_reserve() sets aside nodes
 * from the pool (HS_ENOMEM past MAPDB_NODES_MAX or when the host refuses),
 * kept until the kernel is left, as page-table nodes are (mem/pt.h).
 * Nodes are kernel memory: a process is not charged for them.
 */
#ifndef HOPSIM_MEM_MAPDB_H
#define HOPSIM_MEM_MAPDB_H

#include <stdint.h>

#include "hopsim/status.h"
#include "mem/vm.h"

struct proc;
struct kbuf;

/* Nodes the database holds at most, all processes together. */
#define MAPDB_NODES_MAX (1u << 20)

/* The database for a run (hs_sim_start(), the end of the run). */
void mapdb_start(void);
void mapdb_end(void);

/* Set aside n more nodes for changes in this kernel entry: HS_ENOMEM
 * (over the limit, or no host memory), nothing set aside. */
hs_status mapdb_reserve(uint64_t n);

/* The kernel is left: reservations end (from vm_leave()). */
void mapdb_leave(void);

/* Nodes in use. */
uint64_t mapdb_nodes(void);

/* The leaf at cva in cp (just mapped, no node yet) was derived from the
 * leaf holding pva in pp (another process): give both a node, the
 * parent's made if it has none (two reserved nodes at most). */
void mapdb_derive(struct proc *pp, uint64_t pva, struct proc *cp,
                  uint64_t cva);

/* Nodes mapdb_derive() takes for the leaf holding pva in pp and one
 * child: 1 if that leaf has a node, else 2. */
unsigned mapdb_derive_need(struct proc *pp, uint64_t pva);

/* A move: the leaf at fva in fp, about to be unmapped, now maps at tva in
 * tp (the same size and frames); its node, if any, goes with it. */
void mapdb_hand(struct proc *fp, uint64_t fva, struct proc *tp,
                uint64_t tva);

/* The leaf at va in p (which has a node) is being unmapped: its node goes,
 * its children move up to its parent (from mem/vm.c). */
void mapdb_leaf_gone(struct proc *p, uint64_t va);

/* The leaf at va in p (which has a node), of size from, was just split
 * into 512 leaves of the next size down: split its node, and the leaves
 * and nodes of its children of the same size (from mem/vm.c; what it
 * needs was reserved by mapdb_split_reserve()). */
void mapdb_leaf_split(struct proc *p, uint64_t va, enum page_size from);

/* Reserve what up to tables splits of the leaf at va in p (which has a
 * node) and of the leaves derived from it take: nodes (HS_ENOMEM), and
 * *pt_extra the page-table nodes the splits in other address spaces add
 * (for the caller to reserve with its own). */
hs_status mapdb_split_reserve(struct proc *p, uint64_t va, unsigned tables,
                              unsigned *pt_extra);

/*
 * Revoke: remove every mapping derived, recursively, from p's leaves in
 * [va, end), wherever it is; p's own leaves in the range stay (unless one
 * of them was itself derived from another of them).  A derived page that
 * holds frames both inside and outside the range is split and loses only
 * the part inside.  mapdb_revoke_check() reserves the nodes and
 * page-table nodes the splits may need (HS_ENOMEM); HS_ENOMAP when
 * nothing of the range is mapped.  mapdb_revoke() cannot fail after it
 * and returns how many bytes it unmapped in all.
 */
hs_status mapdb_revoke_check(struct proc *p, uint64_t va, uint64_t end);
uint64_t mapdb_revoke(struct proc *p, uint64_t va, uint64_t end);

/* Verify every node against its leaf and its tree (derived leaves: the
 * count of leaves with the derived bit the page-table walk found):
 * HS_OK or HS_ECHECK with the difference appended to b. */
hs_status mapdb_check(uint64_t derived_leaves, struct kbuf *b);

#endif
