/* types.c - releasing the shared sandbox types (see types.h). */
#include "sandbox/types.h"

#include <stdlib.h>
#include <string.h>

void
image_config_fini(struct image_config *ic)
{
	if (ic == NULL)
		return;
	proto_strs_fini(&ic->entrypoint);
	proto_strs_fini(&ic->cmd);
	proto_strs_fini(&ic->env);
	free(ic->working_dir);
	free(ic->user);
	proto_kvs_fini(&ic->labels);
	free(ic->etc_passwd);
	free(ic->etc_group);
	memset(ic, 0, sizeof(*ic));
}

void
runtime_config_fini(struct runtime_config *rt)
{
	if (rt == NULL)
		return;
	free(rt->name);
	free(rt->type);
	free(rt->path);
	proto_strs_fini(&rt->pod_annotations);
	free(rt->seccomp_default);
	free(rt->launcher);
	free(rt->root);
	memset(rt, 0, sizeof(*rt));
}
