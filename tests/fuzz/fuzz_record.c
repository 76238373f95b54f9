/* libFuzzer target: the resume-record parser of the receiver's store
 * (idl_record_parse, transfer/record.c). A
 * record lives in the state folder, where another program (or a disk that
 * lost power) may have left anything. Any input must give 0 or -EINVAL, and
 * a record accepted must name a .part in the folder of its file: one
 * component, no '/', passing the path rules. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transfer/path.h"
#include "transfer/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "file.bin", "a/b/c d.txt", "é/ü" };
	uint64_t dev, ino, gen;
	char *part = NULL;
	int r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		r = idl_record_parse((const char *)data, size, paths[i], &part, &dev, &ino, &gen);
		if (r != 0 && r != -EINVAL)
			abort();
		if (r == 0 && (!part || strchr(part, '/') || idl_path_check(part, NULL) < 0 ||
			       strlen(part) < 5 || strcmp(part + strlen(part) - 5, ".part") != 0))
			abort();
		if (r != 0 && part)
			abort();
		g_free(part);
		part = NULL;
	}
	return 0;
}
