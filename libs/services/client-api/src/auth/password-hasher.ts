import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';

// Algorithm.Argon2id of @node-rs/argon2 (a const enum, which isolated modules cannot read).
const ARGON2ID = 2;

/** Argon2id password hashes (PHC strings, parameters embedded, so they can change later). */
@Injectable()
export class PasswordHasher {
  hash(password: string): Promise<string> {
    return hash(password, { algorithm: ARGON2ID });
  }

  /** `false` for a wrong password or an account without one. */
  async verify(passwordHash: string | null, password: string): Promise<boolean> {
    if (passwordHash === null) return false;
    return verify(passwordHash, password);
  }
}
