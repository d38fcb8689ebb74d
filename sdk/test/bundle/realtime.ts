// A realtime app: the socket code is loaded on first use.
import { createClient } from '../../src/index.js';

const client = createClient({ url: 'https://api.example.com', token: 't', realtime: true });
export const live = client.liveList('Message', {}).subscribe(() => {});
