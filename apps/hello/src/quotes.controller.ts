import { get } from 'node:http';

import { Controller, Get, Query } from '@nestjs/common';

const LOCAL_QUOTE = { quote: 'Measure, then optimise.' };

/**
 * Outgoing calls: with `QUOTES_URL` set, the quote comes from that service over
 * `fetch` (or `node:http` with `?client=http`), and the request carries the
 * trace context. Without it, a local quote: the app needs nothing external.
 */
@Controller('quote')
export class QuotesController {
  @Get()
  async quote(@Query('client') client?: string): Promise<unknown> {
    const url = process.env.QUOTES_URL;
    if (!url) return LOCAL_QUOTE;
    return client === 'http' ? getJson(url) : (await fetch(url)).json();
  }
}

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(error);
        }
      });
    }).on('error', reject);
  });
}
