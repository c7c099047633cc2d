// SPDX-License-Identifier: GPL-2.0
/*
 * A module for tests of blocked transitions: reading /proc/klp_busy_target
 * sleeps uninterruptibly for sleep_ms milliseconds inside
 * klp_busy_target_wait, so the reader blocks a live patch of that function
 * until the sleep ends.
 */
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

static unsigned int sleep_ms = 5000;
module_param(sleep_ms, uint, 0644);
MODULE_PARM_DESC(sleep_ms, "how long a read sleeps, in milliseconds");

static noinline int klp_busy_target_wait(void)
{
	msleep(sleep_ms);
	return 1;
}

static int klp_busy_target_show(struct seq_file *m, void *v)
{
	seq_printf(m, "wait returned %d\n", klp_busy_target_wait());
	return 0;
}

static int __init klp_busy_target_init(void)
{
	if (!proc_create_single("klp_busy_target", 0444, NULL, klp_busy_target_show))
		return -ENOMEM;
	return 0;
}

static void __exit klp_busy_target_exit(void)
{
	remove_proc_entry("klp_busy_target", NULL);
}

module_init(klp_busy_target_init);
module_exit(klp_busy_target_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("keepup test module whose reads sleep in a patchable function");
