/* libspec.c - the spec builder's input for a plain pod (see libspec.h). */
#include "tests/unit/sandbox/libspec.h"

#include <check.h>

#include "tests/unit/lib/unit.h"

void
unit_spec_input(struct pod_config *pod, struct image_config *image, struct runtime_config *runtime,
                struct node_config *node, struct spec_input *in)
{
	pod_config_init(pod);
	pod->metadata.name = unit_strdup("web");
	pod->metadata.namespace = unit_strdup("default");
	pod->metadata.uid = unit_strdup("a1b2-c3");
	pod->hostname = unit_strdup("web-0");
	ck_assert_int_eq(proto_strs_add(&image->entrypoint, "/pause"), 0);
	runtime->name = unit_strdup("runc");
	runtime->type = unit_strdup("io.containerd.runc.v2");
	node->cgroup_root = "/k8s.io";
	node->cgroup_layout = CGROUP_V2;
	node->seccomp_available = true;
	node->daemon_oom_score_adj = 0;
	in->id = ID;
	in->pod = pod;
	in->image = image;
	in->runtime = runtime;
	in->node = node;
	in->netns_path = NETNS;
	in->shm_path = SHM;
	in->resolv_conf_path = RESOLV;
}

void
unit_spec_input_fini(struct pod_config *pod, struct image_config *image,
                     struct runtime_config *runtime)
{
	pod_config_fini(pod);
	image_config_fini(image);
	runtime_config_fini(runtime);
}
