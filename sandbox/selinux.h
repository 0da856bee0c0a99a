/* selinux.h - SELinux process/mount labels for sandboxes, as containerd
 * gets them from go-selinux's label.InitLabels.
 *
 * What containerd 1.7 does, in C: label.InitLabels (go-selinux) allocates a
 * process/mount label pair from the lxc_contexts file with a fresh random
 * MCS level "s0:cX,cY", the pod's selinux_options override parts of it, and
 * the CRI sandbox store reference-counts the level so it is freed only when
 * the last holder lets go.  Here one table (struct selinux_labels) does both
 * jobs: go-selinux's "MCS levels in use" set and containerd's label.Store
 * counts, under one mutex, so choosing a free level and reserving it is a
 * single atomic step.
 *
 * Computing labels and applying them are separate on purpose: everything
 * here is pure string work on libselinux's context_t (no policy needed), so
 * it runs and is unit-tested on hosts without SELinux.  Only the launcher
 * applies labels, and only where selinux_apply_enabled() says so.
 *
 * Note on exactness: go-selinux returns empty labels whenever the HOST has
 * SELinux off, even with enable_selinux=true.  To reproduce that, the
 * daemon sets cfg.enable = enable_selinux && selinux_apply_enabled(); tests
 * set enable=true freely against tests/data/selinux/lxc_contexts.
 *
 * Lifetime, as containerd's (Controller.Start, the CRI sandbox store's
 * label reservations):
 *   - selinux_labels_alloc() returns the pair holding ONE reference on the
 *     level.  That reference is the sandbox's: release it (with either
 *     label - they share the level) on any Start failure, and on delete.
 *     Do not reserve again when adding the sandbox to the store.
 *   - At restart recovery call selinux_labels_reserve() once per recorded
 *     process label.
 *   - Privileged pods: the CALLER clears the process label in the spec but
 *     keeps the reservation and the recorded label, so it can be released.
 *   - VM runtimes: the reference records the pre-KVM label in the metadata
 *     (and the selinux_label return label) and puts the KVM-typed one in the
 *     spec.  To reproduce that, allocate with vm=false, record, then derive
 *     the spec label with selinux_labels_to_kvm().  vm=true in alloc is the
 *     shortcut for callers that only need the spec label.
 *
 * All functions are thread-safe.  Strings returned are malloc'd and the
 * caller frees them; "" (never NULL) means "no label".
 */
#ifndef CRADLE_SELINUX_H
#define CRADLE_SELINUX_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/err.h"
#include "proto/proto.h"

#define SELINUX_DEFAULT_CATEGORY_RANGE 1024u
/* Categories are c0..c9999 at most: the level check only accepts 4 digits. */
#define SELINUX_MAX_CATEGORY_RANGE 10000u

struct selinux_cfg {
	bool enable;               /* false: every label is "" (SetDisabled) */
	unsigned category_range;   /* selinux_category_range; 0 = 1024; 2..10000 */
	const char *contexts_path; /* NULL = selinux_lxc_contexts_path() */
};

struct selinux_labels;

/* Read the "process", "file" and "kvm_process" contexts from the contexts
 * file (lines `key = "value"`, '#'/';' comments, last one wins).  A missing
 * file, or one without process/file, gives empty process labels as in
 * go-selinux (container-selinux not installed); any other read error, an
 * unparsable context or a bad category_range is an error (INVALID_ARGUMENT
 * for the config, FAILED_PRECONDITION/errno code for the file).  Nothing is
 * read when enable is false. */
int selinux_labels_init(const struct selinux_cfg *cfg, struct selinux_labels **out,
                        struct cradle_err *err);
void selinux_labels_fini(struct selinux_labels *l); /* NULL ok */

/* containerd's checkSelinuxLevel.  "" and NULL are fine.  Error
 * (INVALID_ARGUMENT): the format of 'level' "<l>" is not correct */
int selinux_check_level(const char *level, struct cradle_err *err);

/* label.InitLabels with the pod's selinux_options (pod may be NULL):
 *   - the level is checked first, even when disabled (as containerd does);
 *   - disabled: "" and "", nothing reserved;
 *   - otherwise the process label is the "process" context and the mount
 *     label the "file" context, both with level = options.level if given
 *     (used as-is), else a random unused "s0:cX,cY", X < Y < category_range;
 *   - options user/role/type replace those parts of the process label, and
 *     user also replaces the mount label's user;
 *   - vm: the process label's type becomes the kvm_process context's type
 *     (the process context's when the file has none), after the overrides.
 * The level is reserved (+1) before returning.  Errors: INVALID_ARGUMENT
 * for a bad level or an option libselinux refuses (e.g. a ':' in a user),
 * RESOURCE_EXHAUSTED when every pair of the category range is reserved,
 * RESOURCE_EXHAUSTED/INTERNAL for allocation failures; each wrapped as
 * containerd's sandboxContainerSpec wraps initLabelsFromOpt's: "failed to
 * init selinux options <opts>: ...", <opts> as Go's %+v prints the CRI
 * message ("&SELinuxOption{User:u,Role:r,Type:t,Level:l,}", "nil" when the
 * pod has none). */
int selinux_labels_alloc(struct selinux_labels *l, const struct pod_config *pod, bool vm,
                         char **process_label, char **mount_label, struct cradle_err *err);

/* seutil.ChangeToKVM: `label` with its type replaced by the KVM type; ""
 * for "" or when disabled.  Reserves nothing (the level is unchanged).
 * Error: failed to get selinux kvm label: <why> */
int selinux_labels_to_kvm(const struct selinux_labels *l, const char *label, char **out,
                          struct cradle_err *err);

/* +1 / -1 on the level of `label` (the part after the third ':').  Labels
 * without a level, NULL and "" are ignored, as is releasing a level not
 * held.  No-ops when disabled. */
void selinux_labels_reserve(struct selinux_labels *l, const char *label);
void selinux_labels_release(struct selinux_labels *l, const char *label);

/* Distinct levels currently held (for tests and stats). */
size_t selinux_labels_reserved(const struct selinux_labels *l);
/* Holders of the level of `label`; 0 when not held (for tests). */
unsigned long selinux_labels_refs(const struct selinux_labels *l, const char *label);

/* Should the launcher apply labels at all: is_selinux_enabled() > 0. */
bool selinux_apply_enabled(void);

#endif
