#include "kernel.h"

int limit(int len)
{
	if (len > 4095) {
		printk("expected fewer than %d bytes\n", 4095);
		return -7;
	}
	return len;
}
