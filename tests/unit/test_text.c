/* text_copy: cut short to fit, always terminated, NULL as "". */
#include <criterion/criterion.h>
#include <string.h>

#include "text.h"

Test(text, copy_fits_cuts_and_takes_null)
{
	char buf[8];
	text_copy(buf, sizeof(buf), "abc");
	cr_assert_str_eq(buf, "abc");
	text_copy(buf, sizeof(buf), "0123456789");
	cr_assert_str_eq(buf, "0123456");
	memset(buf, 'x', sizeof(buf));
	text_copy(buf, sizeof(buf), NULL);
	cr_assert_str_eq(buf, "");
	text_copy(buf, 1, "abc");
	cr_assert_str_eq(buf, "");
}
