/**
 * An OAuth provider next to the static token file: OAuth mints bearer tokens, while API keys,
 * basic pairs and every scheme a token file entry names come from the file. Start-up checks
 * each half with its own coverage rule (src/serveCommon.ts).
 */
import type { StaticTokenProvider } from './staticTokens.ts';
import { kindOf, RedactedSecretHolder, type TokenProvider, type TokenRequest } from './tokenProvider.ts';

export class CredentialRouter extends RedactedSecretHolder implements TokenProvider {
  readonly #oauth: TokenProvider;
  readonly #file: StaticTokenProvider;

  constructor(oauth: TokenProvider, file: StaticTokenProvider) {
    super();
    this.#oauth = oauth;
    this.#file = file;
  }

  /** Which provider serves `req`: the file for non-bearer kinds and the schemes it names. */
  servedByFile(req: TokenRequest): boolean {
    return kindOf(req) !== 'bearer' || (req.scheme !== undefined && this.#file.servesScheme(req.scheme));
  }

  get file(): StaticTokenProvider {
    return this.#file;
  }

  /** One surface's view (src/README.md D42): the same OAuth client, the file's entries for that surface. */
  forSurface(surface: string): CredentialRouter {
    return new CredentialRouter(this.#oauth, this.#file.forSurface(surface));
  }

  getToken(req: TokenRequest): Promise<string> {
    return this.servedByFile(req) ? this.#file.getToken(req) : this.#oauth.getToken(req);
  }

  invalidate(req: TokenRequest, rejected?: string): void {
    if (this.servedByFile(req)) this.#file.invalidate();
    else this.#oauth.invalidate(req, rejected);
  }

  describe(): string {
    return `${this.#oauth.describe()}, with ${this.#file.describe()} for API keys, basic pairs and the schemes it names`;
  }

  async close(): Promise<void> {
    await this.#oauth.close?.();
  }
}
