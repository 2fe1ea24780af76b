#include "text.h"

#include <stdio.h>

void text_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}
