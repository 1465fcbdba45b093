/** Prints docs/SCRUBBER.md from the rules: node -r ./test/support/ts-register.js test/tools/scrubber-doc.ts > docs/SCRUBBER.md */
import { CodeSets } from '../../src/lib/codes/codesets';
import { scrubberDoc } from '../../src/lib/scrub/doc';

process.stdout.write(scrubberDoc(CodeSets.shipped()) + '\n');
