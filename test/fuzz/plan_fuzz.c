// libFuzzer harness: the shim's JSON parser (shims/json.c) on hostile text, as a plan or a lease
// would reach it, and the accessors walked over whatever it made. Built and run by run.sh.
#include "../../shims/shim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void walk(const struct json *j, int depth)
{
	if (!j || depth > 64)
		return;
	(void)json_str(j, "args");
	(void)json_num(j, "uid", 0);
	(void)json_bool(j, "terminal");
	char **v = json_strv(json_get(j, "env"));
	free(v);
	for (const struct json *c = j->child; c; c = c->next)
		walk(c, depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	// exactly the input, with no NUL after it: the parser must stop at its end by itself
	char *text = malloc(size ? size : 1);
	memcpy(text, data, size);
	struct json *j = json_parse(text, size);
	walk(j, 0);
	json_free(j);
	free(text);
	return 0;
}
