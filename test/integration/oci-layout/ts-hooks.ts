// Lets a plain `node` child process run our TypeScript sources: Node 24 strips the types itself, and this
// resolve hook maps the `.js` specifiers our sources use onto the `.ts` files that exist.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (!specifier.startsWith('.') || !specifier.endsWith('.js')) throw err;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
  },
});
