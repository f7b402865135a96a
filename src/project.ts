/**
 * The Pulumi project every run's stack belongs to. The compiler stamps it into a plan (tags,
 * resource names) and src/stacks opens stacks under it, so it lives below both.
 */
export const DSTACK_PROJECT = "dstack";
