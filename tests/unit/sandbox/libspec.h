/* libspec.h - the spec builder's input for a plain pod, shared by the
 * sandbox tests that start from it (test_spec, test_plan).
 *
 * The pod "web" in "default" (uid a1b2-c3, hostname web-0) with no
 * security context; a pause image with ENTRYPOINT ["/pause"]; the "runc"
 * handler; a cgroup v2 node with seccomp and every optional feature off;
 * the sandbox paths below.  Tests change what their rule needs.
 */
#ifndef CRADLE_TESTS_UNIT_SANDBOX_LIBSPEC_H
#define CRADLE_TESTS_UNIT_SANDBOX_LIBSPEC_H

#include "sandbox/spec.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NETNS "/run/cradle/netns/" ID
#define SHM "/run/cradle/sandboxes/" ID "/shm"
#define RESOLV "/var/lib/cradle/sandboxes/" ID "/resolv.conf"

/* Fill the (zeroed) inputs and point in at them. */
void unit_spec_input(struct pod_config *pod, struct image_config *image,
                     struct runtime_config *runtime, struct node_config *node,
                     struct spec_input *in);
/* Free what unit_spec_input (and the test) put in them. */
void unit_spec_input_fini(struct pod_config *pod, struct image_config *image,
                          struct runtime_config *runtime);

#endif
