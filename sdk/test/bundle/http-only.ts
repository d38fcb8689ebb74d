// An HTTP-only app: createClient without realtime, plus the React hooks.
import { createClient } from '../../src/index.js';
import { useList } from '../../src/react/index.js';

const client = createClient({ url: 'https://api.example.com', token: 't', realtime: false });
export const messages = client.model('Message').list({ where: { room_id: 5 } });
export const hook = useList;
