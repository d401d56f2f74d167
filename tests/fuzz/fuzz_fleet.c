/*
 * fuzz_fleet.c - any bytes as a fleet event (a stream entry or a key of
 * the current set, which anyone with the Redis password can write): no
 * harm, and an event taken is written back by fleet_event_format to the
 * very same bytes (one spelling per event, nothing odd in a field), and a
 * refusal names its field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../banhelper/fleet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fleet_event ev;
	char out[FLEET_LINE_MAX];
	const char *why = NULL;
	int n;

	if (fleet_event_parse((const char *)data, size, &ev, &why) == 0) {
		n = fleet_event_format(&ev, out, sizeof(out));
		if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
			abort();
		if (!config_fleet_name_ok(ev.origin) ||
		    !config_fleet_name_ok(ev.owner))
			abort();
	} else if (why == NULL) {
		abort();
	}
	return 0;
}
