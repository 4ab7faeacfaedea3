/**
 * The CurveZMQ certificates LAVA's XML-RPC hands out (`system.get_master_certificate`,
 * `scheduler.workers.get_certificate` / `set_certificate`, which lavacli's `system certificate`
 * and `workers certificate` call): the master's public certificate, and the
 * workers' public certificates in the directory the master accepts keys from
 * (`--workers-certs`). A secret key is never read out or taken in; a master
 * without `--encrypt` has none to show and says so.
 */
import { join } from "../../actors/path.ts";
import { CertificateError, parseCertificate, publicCertificateText } from "../../actors/transport/zmq/curve.ts";
import { LabRequestError } from "./request_error.ts";

export interface CertificateOptions {
  /** The master's name and public key. */
  readonly master: { readonly name: string; readonly publicKey: string };
  /** Where workers' `NAME.key` files are accepted from. */
  readonly workersDir: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const MAX_CERTIFICATE = 8192;

export class LabCertificates {
  constructor(private readonly options: CertificateOptions | undefined) {}

  #require(): CertificateOptions {
    if (!this.options) {
      throw new LabRequestError("this master does not encrypt its workers' mailbox (start it with --encrypt)", 404);
    }
    return this.options;
  }

  master(): string {
    const { master } = this.#require();
    return publicCertificateText(master.name, master.publicKey);
  }

  async worker(hostname: string): Promise<string> {
    const { workersDir } = this.#require();
    if (!NAME.test(hostname)) throw new LabRequestError(`Worker '${hostname}' was not found.`, 404);
    try {
      return await Deno.readTextFile(join(workersDir, `${hostname}.key`));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new LabRequestError(`Worker '${hostname}' has no certificate.`, 404);
      }
      throw error;
    }
  }

  /** Stores a worker's public certificate (replacing the one it had): from then on its key is let in. */
  async setWorker(hostname: string, text: string): Promise<void> {
    const { workersDir } = this.#require();
    if (!NAME.test(hostname)) throw new LabRequestError(`Worker '${hostname}' was not found.`, 404);
    if (text.length > MAX_CERTIFICATE) throw new LabRequestError("a certificate is a few hundred bytes", 400);
    try {
      const cert = parseCertificate(`${hostname}.key`, text);
      if (cert.secretKey !== undefined) {
        throw new LabRequestError("this is a secret certificate: give the worker's public NAME.key", 400);
      }
    } catch (error) {
      if (error instanceof CertificateError) throw new LabRequestError(error.message, 400);
      throw error;
    }
    const path = join(workersDir, `${hostname}.key`);
    const temporary = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(temporary, text, { mode: 0o644, createNew: true });
    await Deno.rename(temporary, path);
  }
}
