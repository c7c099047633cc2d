package objdiff

// x86-64 instruction lengths, enough to walk the kernel's function code
// one instruction at a time. The decoder handles the legacy, REX, VEX and
// EVEX encodings of 64-bit mode. It checks an instruction's validity only
// as far as its length needs.

// Operand kinds of an opcode: whether a ModRM byte follows and how many
// immediate bytes come after it.
const (
	opModRM   = 1 << iota // a ModRM byte, with the SIB byte and displacement it calls for
	opImm8                // one immediate byte
	opImm16               // two immediate bytes
	opImmZ                // four immediate bytes, two with an operand-size prefix
	opImmV                // like opImmZ, but eight with REX.W (mov $imm64, %reg)
	opMoffs               // an eight-byte address, four with an address-size prefix
	opGroup3              // F6/F7: an immediate only for the TEST forms (reg 0 and 1)
	opInvalid             // not an instruction in 64-bit mode
)

// oneByteOps lists the operand kinds of the one-byte opcodes.
var oneByteOps = func() [256]uint16 {
	var t [256]uint16
	for op := 0x00; op < 0x40; op += 8 {
		t[op], t[op+1], t[op+2], t[op+3] = opModRM, opModRM, opModRM, opModRM
		t[op+4], t[op+5] = opImm8, opImmZ
	}
	for _, op := range []int{0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0x82, 0x9a, 0xce, 0xd4, 0xd5, 0xd6, 0xea} {
		t[op] = opInvalid
	}
	t[0x63] = opModRM
	t[0x68], t[0x69], t[0x6a], t[0x6b] = opImmZ, opModRM|opImmZ, opImm8, opModRM|opImm8
	for op := 0x70; op < 0x80; op++ {
		t[op] = opImm8
	}
	t[0x80], t[0x81], t[0x83] = opModRM|opImm8, opModRM|opImmZ, opModRM|opImm8
	for op := 0x84; op < 0x90; op++ {
		t[op] = opModRM
	}
	t[0xa0], t[0xa1], t[0xa2], t[0xa3] = opMoffs, opMoffs, opMoffs, opMoffs
	t[0xa8], t[0xa9] = opImm8, opImmZ
	for op := 0xb0; op < 0xb8; op++ {
		t[op], t[op+8] = opImm8, opImmV
	}
	t[0xc0], t[0xc1], t[0xc2] = opModRM|opImm8, opModRM|opImm8, opImm16
	t[0xc6], t[0xc7] = opModRM|opImm8, opModRM|opImmZ
	t[0xc8], t[0xca], t[0xcd] = opImm16|opImm8, opImm16, opImm8
	for op := 0xd0; op < 0xe0; op++ {
		if op != 0xd4 && op != 0xd5 && op != 0xd6 && op != 0xd7 {
			t[op] = opModRM
		}
	}
	for op := 0xe0; op < 0xe8; op++ {
		t[op] = opImm8
	}
	t[0xe8], t[0xe9], t[0xeb] = opImmZ, opImmZ, opImm8
	t[0xf6], t[0xf7] = opModRM|opGroup3|opImm8, opModRM|opGroup3|opImmZ
	t[0xfe], t[0xff] = opModRM, opModRM
	return t
}()

// twoByteOps lists the operand kinds of the opcodes after 0F.
var twoByteOps = func() [256]uint16 {
	var t [256]uint16
	for op := range t {
		t[op] = opModRM
	}
	for _, op := range []int{0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x77, 0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa} {
		t[op] = 0
	}
	for _, op := range []int{0x04, 0x0a, 0x0c, 0x24, 0x25, 0x26, 0x27, 0x36, 0x39, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f} {
		t[op] = opInvalid
	}
	for _, op := range []int{0x0f, 0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6} {
		t[op] = opModRM | opImm8
	}
	for op := 0x80; op < 0x90; op++ {
		t[op] = opImmZ
	}
	for op := 0xc8; op < 0xd0; op++ {
		t[op] = 0
	}
	return t
}()

// insnLength returns the length of the instruction at the start of code,
// or 0 when code does not start with an instruction it can decode.
func insnLength(code []byte) int {
	var p insnParser
	p.code = code
	n := p.parse()
	if n <= 0 || n > 15 || n > len(code) {
		return 0
	}
	return n
}

type insnParser struct {
	code     []byte
	pos      int
	opSize16 bool
	addr32   bool
	rexW     bool
}

func (p *insnParser) next() (byte, bool) {
	if p.pos >= len(p.code) {
		return 0, false
	}
	b := p.code[p.pos]
	p.pos++
	return b, true
}

func (p *insnParser) parse() int {
	op, ok := p.prefixes()
	if !ok {
		return 0
	}
	switch {
	case op == 0x0f:
		return p.escape()
	case op == 0xc4 || op == 0xc5 || op == 0x62:
		return p.vex(op)
	}
	return p.operands(oneByteOps[op])
}

// prefixes skips legacy and REX prefixes and returns the opcode byte.
func (p *insnParser) prefixes() (byte, bool) {
	for {
		b, ok := p.next()
		if !ok {
			return 0, false
		}
		switch {
		case b == 0x66:
			p.opSize16 = true
		case b == 0x67:
			p.addr32 = true
		case b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65:
		case b&0xf0 == 0x40:
			p.rexW = b&0x08 != 0
			op, ok := p.next()
			return op, ok && op&0xf0 != 0x40
		default:
			return b, true
		}
	}
}

// escape decodes the opcode maps behind 0F: 0F xx, 0F 38 xx and 0F 3A xx.
func (p *insnParser) escape() int {
	op, ok := p.next()
	if !ok {
		return 0
	}
	switch op {
	case 0x38:
		return p.skipOpcode(opModRM)
	case 0x3a:
		return p.skipOpcode(opModRM | opImm8)
	}
	return p.operands(twoByteOps[op])
}

func (p *insnParser) skipOpcode(kind uint16) int {
	if _, ok := p.next(); !ok {
		return 0
	}
	return p.operands(kind)
}

// vex decodes the VEX (C4, C5) and EVEX (62) encodings, whose payload
// names the opcode map; map 3 takes an immediate byte.
func (p *insnParser) vex(op byte) int {
	payload := map[byte]int{0xc5: 1, 0xc4: 2, 0x62: 3}[op]
	first := p.pos
	p.pos += payload
	if p.pos > len(p.code) {
		return 0
	}
	opMap := 1
	if op != 0xc5 {
		opMap = int(p.code[first] & 0x07)
	}
	if op == 0xc4 {
		p.rexW = p.code[first+1]&0x80 != 0
	}
	opcode, ok := p.next()
	if !ok {
		return 0
	}
	switch opMap {
	case 1:
		return p.operands(twoByteOps[opcode] &^ opImmZ)
	case 2:
		return p.operands(opModRM)
	case 3:
		return p.operands(opModRM | opImm8)
	}
	return 0
}

// operands skips the ModRM, SIB, displacement and immediate bytes of an
// opcode of the given kind and returns the instruction's length.
func (p *insnParser) operands(kind uint16) int {
	if kind&opInvalid != 0 {
		return 0
	}
	reg := -1
	if kind&opModRM != 0 {
		var ok bool
		if reg, ok = p.modRM(); !ok {
			return 0
		}
	}
	if kind&opGroup3 != 0 && reg > 1 {
		kind &^= opImm8 | opImmZ
	}
	p.pos += p.immediateSize(kind)
	return p.pos
}

func (p *insnParser) immediateSize(kind uint16) int {
	n := 0
	if kind&opImm8 != 0 {
		n++
	}
	if kind&opImm16 != 0 {
		n += 2
	}
	if kind&(opImmZ|opImmV) != 0 {
		switch {
		case kind&opImmV != 0 && p.rexW:
			n += 8
		case p.opSize16:
			n += 2
		default:
			n += 4
		}
	}
	if kind&opMoffs != 0 {
		n += 8
		if p.addr32 {
			n -= 4
		}
	}
	return n
}

// modRM skips a ModRM byte with its SIB byte and displacement and returns
// the ModRM reg field.
func (p *insnParser) modRM() (int, bool) {
	b, ok := p.next()
	if !ok {
		return 0, false
	}
	mod, reg, rm := b>>6, int(b>>3&7), b&7
	if mod == 3 {
		return reg, true
	}
	if rm == 4 {
		sib, ok := p.next()
		if !ok {
			return 0, false
		}
		if sib&7 == 5 && mod == 0 {
			p.pos += 4
		}
	}
	switch {
	case mod == 0 && rm == 5:
		p.pos += 4
	case mod == 1:
		p.pos++
	case mod == 2:
		p.pos += 4
	}
	return reg, p.pos <= len(p.code)
}
