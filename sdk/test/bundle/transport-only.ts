// An app that only uses the REST transport.
import { HTTPTransport } from '../../src/index.js';

export const rows = new HTTPTransport({ url: 'https://api.example.com' }).list('messages');
