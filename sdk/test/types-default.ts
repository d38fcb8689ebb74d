// Without a generated file, rows are Record<string, unknown> and any model
// name is accepted. Checked by `tsc --noEmit` (npm run typecheck).
import { createClient, type AnyRow, type ListSnapshot } from '../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const client = createClient({ url: 'https://x.test' });
const snap = client.liveList('Anything').getSnapshot();
export const rowsAreRecords: Equal<typeof snap, ListSnapshot<AnyRow>> = true;
export const rowIsRecord: Equal<AnyRow, Record<string, unknown>> = true;
