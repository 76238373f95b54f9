/* Replays a fuzz corpus through one libFuzzer target without libFuzzer, so
 * `make test` checks every committed input (regressions included) with gcc
 * and the sanitizers. Prints TAP: one line per corpus directory. */
#include <stdint.h>
#include <stdio.h>
#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char *argv[])
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		GDir *dir = g_dir_open(argv[i], 0, NULL);
		const char *name;
		unsigned count = 0;

		if (!dir) {
			printf("not ok %d - cannot open corpus %s\n", ++n, argv[i]);
			continue;
		}
		while ((name = g_dir_read_name(dir))) {
			char *path = g_build_filename(argv[i], name, NULL), *data;
			gsize len;

			if (g_file_get_contents(path, &data, &len, NULL)) {
				LLVMFuzzerTestOneInput((const uint8_t *)data, len);
				g_free(data);
				count++;
			}
			g_free(path);
		}
		g_dir_close(dir);
		/* Reaching here means no input crashed or tripped a sanitizer. */
		printf("%s %d - %u inputs of %s replayed\n", count ? "ok" : "not ok", ++n, count, argv[i]);
	}
	printf("1..%d\n", n);
	return 0;
}
