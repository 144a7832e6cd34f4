// SPDX-License-Identifier: GPL-2.0-only
/*
 *   test_unit --list     the names of the tests
 *   test_unit NAME       run one; exit 0 passed, 1 failed, 77 skipped
 */
#include <stdlib.h>

#include "log.h"
#include "unit.h"

extern const struct unit_test __start_unit_tests[], __stop_unit_tests[];

int unit_failures;

void unit_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	exit(77);
}

int main(int argc, char **argv)
{
	const struct unit_test *t;

	if (argc != 2) {
		fprintf(stderr, "usage: %s --list | NAME\n", argv[0]);
		return 2;
	}
	log_set_verbose(getenv("UNIT_VERBOSE") != NULL);
	log_setup_libbpf();
	for (t = __start_unit_tests; t < __stop_unit_tests; t++) {
		if (!strcmp(argv[1], "--list")) {
			printf("%s\n", t->name);
			continue;
		}
		if (strcmp(argv[1], t->name))
			continue;
		t->run();
		return unit_failures ? 1 : 0;
	}
	if (strcmp(argv[1], "--list")) {
		fprintf(stderr, "no test %s\n", argv[1]);
		return 2;
	}
	return 0;
}
