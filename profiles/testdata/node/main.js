const data = require('fs').readFileSync(0, 'utf8');
let sum = 0n;
for (const t of data.split(/\s+/)) {
  if (t !== '') sum += BigInt(t);
}
console.log(sum.toString());
