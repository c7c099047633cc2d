// SPDX-License-Identifier: GPL-2.0
/*
 * A live patch for tests of blocked transitions: replaces
 * klp_busy_target_wait in the module klp_busy_target with a function that
 * returns 2 at once.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

static int klp_busy_fix_wait(void)
{
	return 2;
}

static struct klp_func klp_busy_fix_funcs[] = {
	{ .old_name = "klp_busy_target_wait", .new_func = klp_busy_fix_wait },
	{}
};

static struct klp_object klp_busy_fix_objs[] = {
	{ .name = "klp_busy_target", .funcs = klp_busy_fix_funcs },
	{}
};

static struct klp_patch klp_busy_fix_patch = {
	.mod = THIS_MODULE,
	.objs = klp_busy_fix_objs,
};

static int __init klp_busy_fix_init(void)
{
	return klp_enable_patch(&klp_busy_fix_patch);
}

static void __exit klp_busy_fix_exit(void)
{
}

module_init(klp_busy_fix_init);
module_exit(klp_busy_fix_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("keepup test patch for klp_busy_target_wait");
