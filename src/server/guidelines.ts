// Annotation guidelines per task family: the repo's docs/guidelines/<family>.md, unless an admin edited them in the app.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { taskFamily, type TaskFamily, type TaskName } from '../core/task.ts';
import type { PreferenceStore } from '../store/preference-store.ts';

export const GUIDELINES_DIR = fileURLToPath(new URL('../../docs/guidelines/', import.meta.url));

export interface Guidelines {
  family: TaskFamily;
  markdown: string;
  source: 'repo' | 'admin';
  updatedBy: string | null;
  updatedAt: number | null;
}

/** The repo's guidelines of a family (read once per process); a missing file gives a short pointer instead. */
const repoCache = new Map<TaskFamily, string>();
export function repoGuidelines(family: TaskFamily, dir = GUIDELINES_DIR): string {
  let md = repoCache.get(family);
  if (md === undefined) {
    try {
      md = readFileSync(`${dir}${family}.md`, 'utf8');
    } catch {
      md = `# ${family}\n\nNo guidelines are written for this task yet (docs/guidelines/${family}.md). An admin can write them here.`;
    }
    repoCache.set(family, md);
  }
  return md;
}

/** What annotators of `task` read: the admin's edit when there is one, else the repo's file. */
export async function guidelinesFor(store: PreferenceStore, task: TaskName): Promise<Guidelines> {
  const family = taskFamily(task);
  const edit = await store.guidelines(family);
  if (edit) return { family, markdown: edit.markdown, source: 'admin', updatedBy: edit.updatedBy, updatedAt: edit.updatedAt };
  return { family, markdown: repoGuidelines(family), source: 'repo', updatedBy: null, updatedAt: null };
}
