import json, os, struct, shutil
ROOT=os.path.dirname(os.path.abspath(__file__))
for sub in ["opcode","mode","transition","deviation","ir"]: shutil.rmtree(os.path.join(ROOT,sub), ignore_errors=True)
os.makedirs(ROOT+"/data", exist_ok=True)
DATA=bytes((i*37+11)%256 for i in range(64))
open(ROOT+'/data/bytes-64.bin','wb').write(DATA)
def word(off): return struct.unpack('<I', DATA[off:off+4])[0]

# The opcodes, read from their one definition (src/protocol/opcode.rs).
import re
OPCODES={n:int(v.replace("_",""),0) for n,v in re.findall(r"pub const (\w+): u32 = (0x[0-9A-Fa-f_]+|\d+);",
         open(os.path.join(ROOT,"..","..","src","protocol","opcode.rs")).read())}
NOP,STORE,ADD,LOAD,CAS,MEMCPY,FENCE=(OPCODES[n] for n in ["NOP","STORE_U32","ATOMIC_ADD","LOAD_U32","COMPARE_SWAP","MEMCPY","BATCH_FENCE"])
LOAD_MISS,PRINTF,PACKED,SHUTDOWN=(OPCODES[n] for n in ["LOAD_MISS","PRINTF","PACKED_SLOT","SHUTDOWN"])
TEN=[{"id":0,"mask":1},{"id":1,"mask":1},{"id":2,"mask":0}]
def slot(op,args=(),tenant=0,priority=2): return {"opcode":op,"tenant":tenant,"priority":priority,"args":list(args)}
def wl(name,slots,heap_init=(),files=(),handlers=(),heap_words=256,tenants=TEN):
    return {"name":name,"tenants":tenants,"heap_words":heap_words,"heap_init":[{"at":a,"words":w} for a,w in heap_init],
            "files":list(files),"handlers":list(handlers),"slots":slots}
count=0
def write(name, about, spec, workload, expect, **kw):
    global count
    v={"about":about,"spec":spec}
    v.update({k:val for k,val in kw.items() if val is not None})
    v["workload"]=workload; v["expect"]=expect
    path=f"{ROOT}/{name}.json"; os.makedirs(os.path.dirname(path),exist_ok=True)
    json.dump(v,open(path,'w'),indent=1); open(path,'a').write('\n'); count+=1

M=lambda op: op%32
# ---------------- opcodes ----------------
write("opcode/nop","NOP does nothing but settle DONE; the claim is counted per tenant and per priority","2.4, 2.5",
  wl("nop",[slot(NOP)]),
  {"statuses":["DONE"],"done_count":1,"fault_count":0,"tenant_claims":{"0":1},"priority_claims":[0,0,1,0,0],"metrics":{"0":1}})
write("opcode/store_u32","STORE_U32 writes heap[arg0] = arg1; an address outside the heap FAULTs and writes nothing","2.5",
  wl("store",[slot(STORE,[5,77]),slot(STORE,[256,1]),slot(STORE,[0xFFFFFFFF,2])]),
  {"statuses":["DONE","FAULT","FAULT"],"done_count":1,"fault_count":2,"heap":{"5":77,"255":0,"0":0},"metrics":{"1":3}})
write("opcode/atomic_add","ATOMIC_ADD adds arg1 to heap[arg0] atomically (wrapping); outside the heap it FAULTs","2.5",
  wl("atomic-add",[slot(ADD,[2,3]),slot(ADD,[2,4],tenant=1),slot(ADD,[3,0xFFFFFFFF]),slot(ADD,[256,1])],heap_init=[(3,[2])]),
  {"statuses":["DONE","DONE","DONE","FAULT"],"done_count":3,"fault_count":1,"heap":{"2":7,"3":1},"tenant_claims":{"0":3,"1":1}})
write("opcode/load_u32","LOAD_U32 copies heap[arg0] into observable arg1; a source outside the heap or an observable past the area FAULTs","2.5, deviation 4",
  wl("load",[slot(LOAD,[9,4]),slot(LOAD,[9,95]),slot(LOAD,[9,96]),slot(LOAD,[256,0])],heap_init=[(9,[123])]),
  {"statuses":["DONE","DONE","FAULT","FAULT"],"observables":{"4":123,"95":123,"0":0},"done_count":2,"fault_count":2})
write("opcode/compare_swap","COMPARE_SWAP exchanges heap[arg0] from arg1 to arg2 when it matches and stores the old value in observable arg3","2.5",
  wl("cas",[slot(CAS,[3,5,9,1]),slot(CAS,[7,4,8,2]),slot(CAS,[256,0,1,3]),slot(CAS,[3,0,1,96])],heap_init=[(3,[5]),(7,[5])]),
  {"statuses":["DONE","DONE","FAULT","FAULT"],"heap":{"3":9,"7":5},"observables":{"1":5,"2":5,"3":0},"done_count":2,"fault_count":2})
write("opcode/memcpy","MEMCPY copies arg2 words from heap[arg1] to heap[arg0] ascending; a range leaving the heap or more than 1024 words FAULTs with no write","2.5",
  wl("memcpy",[slot(MEMCPY,[20,10,3]),slot(MEMCPY,[250,10,7]),slot(MEMCPY,[0,10,1025]),slot(MEMCPY,[30,254,3]),slot(MEMCPY,[40,10,0])],heap_init=[(10,[1,2,3])]),
  {"statuses":["DONE","FAULT","FAULT","FAULT","DONE"],"heap":{"20":1,"21":2,"22":3,"250":0,"255":0,"0":0,"30":0},"done_count":2,"fault_count":3})
write("opcode/batch_fence","BATCH_FENCE raises EPOCH to arg0 with an atomic max","2.5",
  wl("fence",[slot(FENCE,[7]),slot(FENCE,[3]),slot(FENCE,[5])]),
  {"statuses":["DONE","DONE","DONE"],"epoch":7,"metrics":{"7":3}})
write("opcode/printf","PRINTF appends the record [slot, arg0, arg1, arg2] to the debug log","2.5",
  wl("printf",[slot(PRINTF,[11,12,13]),slot(PRINTF,[1,2,3])]),
  {"statuses":["DONE","DONE"],"debug_records":[[0,11,12,13],[1,1,2,3]],"debug_dropped":0,"metrics":{str(M(PRINTF)):2}})
def packed(ops, n=None):
    a=[len(ops) if n is None else n]
    for op,addr,val in ops: a+= [(op<<24)|addr, val]
    return a
write("opcode/packed_slot","PACKED_SLOT runs up to five NOP/STORE_U32/ATOMIC_ADD sub-operations; one bad sub-operation (or count) FAULTs the slot before any runs","2.5",
  wl("packed",[slot(PACKED,packed([(STORE,40,5),(ADD,41,3),(ADD,41,4),(NOP,0,0)])),
               slot(PACKED,packed([(STORE,50,1),(MEMCPY,42,1)])),
               slot(PACKED,packed([(STORE,51,1),(STORE,256,1)])),
               slot(PACKED,packed([(STORE,52,1)],n=0)),
               slot(PACKED,packed([(STORE,53,1)],n=6))]),
  {"statuses":["DONE","FAULT","FAULT","FAULT","FAULT"],"heap":{"40":5,"41":7,"50":0,"51":0,"52":0,"53":0},"done_count":1,"fault_count":4})
write("opcode/shutdown","SHUTDOWN sets control SHUTDOWN; lanes stop, the host clears it, and the drain still finishes every other slot","2.5, 2.6",
  wl("shutdown",[slot(SHUTDOWN)]+[slot(ADD,[i,1]) for i in range(20)]),
  {"statuses":["DONE"]*21,"done_count":21,"heap":{str(i):1 for i in range(20)}})
write("opcode/load_miss","LOAD_MISS parks as WAIT_IO, the host reads arg3 bytes at offset arg1 of file arg0 into heap[arg4..], re-publishes it with arg5 = 0x10, and it ends DONE",
  "2.8",
  wl("load-miss",[slot(LOAD_MISS,[0,4,0,8,60,0]),slot(LOAD_MISS,[0,60,0,4,70,0])],files=[{"path":"../data/bytes-64.bin"}]),
  {"statuses":["DONE","DONE"],"heap":{"60":word(4),"61":word(8),"70":word(60)},"io_completions":[2,0],"metrics":{str(M(LOAD_MISS)):4},"done_count":2})
write("opcode/load_miss_errors","LOAD_MISS bad input: an unregistered handle, an offset past the end, a destination outside the heap, and an unknown IO state each FAULT; the run ends cleanly",
  "2.8",
  wl("load-miss-errors",[slot(LOAD_MISS,[9,0,0,8,60,0]),slot(LOAD_MISS,[0,65,0,4,62,0]),slot(LOAD_MISS,[0,0,0,8,255,0]),slot(LOAD_MISS,[0,0,0,4,64,0x33])],files=[{"path":"../data/bytes-64.bin"}]),
  {"statuses":["FAULT","FAULT","FAULT","FAULT"],"heap":{"60":0,"62":0,"64":0,"255":0},"io_completions":[0,2],"fault_count":4})
qw=wl("load-miss-queue",[slot(LOAD_MISS,[0,4*k,0,4,60+k,0]) for k in range(5)],files=[{"path":"../data/bytes-64.bin"}])
qw["io_entries"]=2
write("opcode/load_miss_queue_overflow","Five LOAD_MISS slots and an IO queue of 2 entries: slots that find the queue full YIELD and come back in later epochs (the host resets the queue between epochs), every read lands once, and the claim counters and metric count only claims that did work (two per slot: the request, then the completion)",
  "2.8, 2.10",
  qw,
  {"statuses":["DONE"]*5,"done_count":5,"heap":{str(60+k):word(4*k) for k in range(5)},"io_completions":[5,0],
   "tenant_claims":{"0":10},"priority_claims":[0,0,10,0,0],"metrics":{str(M(LOAD_MISS)):10}})
# Bounds at the edge: the last word of the heap, the last tenant, the most sub-operations,
# a priority past IDLE; each must run (an off-by-one at a limit FAULTs or denies it).
TEN28=TEN+[{"id":28,"mask":5}]
write("opcode/bounds_at_the_edge","Every bound taken at its last allowed value runs: STORE_U32, ATOMIC_ADD, LOAD_U32 and COMPARE_SWAP on the heap's last words, PACKED_SLOT with five sub-operations, tenant 28 (the last mask), and a priority past IDLE counted as IDLE",
  "2.4, 2.5",
  wl("edges",[slot(STORE,[255,9]),slot(ADD,[254,3]),slot(LOAD,[253,5]),slot(CAS,[252,0,5,6]),
              slot(PACKED,packed([(STORE,230,1),(STORE,231,2),(STORE,232,3),(STORE,233,4),(ADD,234,5)])),
              slot(NOP,tenant=28),slot(NOP,priority=9)],heap_init=[(253,[77]),(254,[4])],tenants=TEN28),
  {"statuses":["DONE"]*7,"done_count":7,"fault_count":0,"heap":{"255":9,"254":7,"252":5,"230":1,"231":2,"232":3,"233":4,"234":5},
   "observables":{"5":77,"6":0},"tenant_claims":{"0":6,"28":1},"priority_claims":[0,0,6,0,1]})
write("opcode/memcpy_to_the_heap_end","MEMCPY whose destination ends exactly at the heap's end runs",
  "2.5",
  wl("memcpy-dst-edge",[slot(MEMCPY,[246,20,10])],heap_init=[(20,list(range(1,11)))]),
  {"statuses":["DONE"],"heap":{str(246+i):1+i for i in range(10)}})
write("opcode/memcpy_from_the_heap_end","MEMCPY whose source ends exactly at the heap's end runs",
  "2.5",
  wl("memcpy-src-edge",[slot(MEMCPY,[100,250,6])],heap_init=[(250,[7,8,9,10,11,12])]),
  {"statuses":["DONE"],"heap":{str(100+i):7+i for i in range(6)}})
write("opcode/load_miss_to_the_heap_end","LOAD_MISS landing its last word on the heap's last word, and reading a file's last bytes, completes DONE",
  "2.8",
  wl("load-miss-edge",[slot(LOAD_MISS,[0,56,0,8,254,0])],files=[{"path":"../data/bytes-64.bin"}]),
  {"statuses":["DONE"],"heap":{"254":word(56),"255":word(60)},"io_completions":[1,0]})
write("opcode/no_handler","An opcode with no handler FAULTs; its metric bucket is opcode % 32 (0x4242 and 0x80000002 share bucket 2)","2.4, 2.5",
  wl("no-handler",[slot(0x4242),slot(6),slot(0x80000002)]),
  {"statuses":["FAULT","FAULT","FAULT"],"fault_count":3,"metrics":{"2":2,"6":1}})
def h_store(opcode, body): return {"name":f"h{opcode:x}","opcode":opcode,"body":body}
def lit(v): return {"literal":{"u32":v}}
def var(n): return {"var":n}
def binop(op,a,b): return {"binary":{"op":op,"lhs":a,"rhs":b}}
user_body=[{"store":{"buffer":"heap","index":var("arg0"),"value":binop("mul",var("arg1"),lit(3))}},
           {"if":{"cond":binop("eq",var("arg2"),lit(1)),"then":[{"assign":{"name":"next_status","value":lit(7)}}],"otherwise":[]}}]
write("opcode/user_handler","A user handler sees arg0..arg11 and sets next_status; DONE unless it sets FAULT","2.4, 2.5",
  wl("user",[slot(0x100,[5,7,0]),slot(0x100,[6,8,1])],handlers=[h_store(0x100,user_body)]),
  {"statuses":["DONE","FAULT"],"heap":{"5":21,"6":24},"done_count":1,"fault_count":1,"metrics":{"0":2}})
# ---------------- one lane's sequence, SHUTDOWN and fuel (2.4, 2.6) ----------------
def load(buf,idx): return {"load":{"buffer":buf,"index":idx}}
def obs_store(k,e): return {"store":{"buffer":"control","index":binop("add",lit(160),binop("add",binop("mul",var("arg0"),lit(6)),lit(k))),"value":e}}
observer={"name":"observe-sequence","opcode":0x111,"body":[
  obs_store(0,load("ring",binop("mul",var("slot"),lit(16))))]}
seq_obs={str(6*k):2 for k in range(8)}
write("mode/lane_sequence_order","One lane's sequence for each slot (2.4), seen from inside the handler: its own STATUS is CLAIMED; after the epoch each claim is counted once per tenant and per priority, and SETTLED, DONE_COUNT and the opcode's metric count every slot (mid-run a lane may still hold its counts in its tallies, so the handler does not look at them)",
  "2.4",
  wl("sequence",[slot(0x111,[k]) for k in range(8)],handlers=[observer]),
  {"statuses":["DONE"]*8,"done_count":8,"observables":seq_obs,"metrics":{str(0x111%32):8},"tenant_claims":{"0":8},"priority_claims":[0,0,8,0,0],"control":{"142":8}},
  workgroup_size=1,workgroups=1)
# One lane settling slots of changing tenants, priorities, opcodes and outcomes: every
# counter a lane may tally (2.4 step 6) must come out exact after the epoch.
# Slots listed in ring order (grouped by priority, 2.7), so tenant and opcode change
# every slot and priority every third.
MIXED_OPS=[NOP,STORE,0x4242,ADD]
mixed=[slot(MIXED_OPS[k%4],[k,k] if k%4 in (1,3) else [],tenant=k%2,priority=k//3) for k in range(15)]
mixed_tenants={"0":8,"1":7}
mixed_priority=[3]*5
mixed_metrics={}
for k in range(15):
    b=str(M(MIXED_OPS[k%4])); mixed_metrics[b]=mixed_metrics.get(b,0)+1
write("mode/lane_tallies_mixed","One lane settles fifteen slots whose tenant, priority, opcode and outcome change from slot to slot: after the epoch every claim, execution and outcome is counted in its own word exactly once, however the lane tallied them (2.4 step 6)",
  "2.4",
  wl("tallies",mixed),
  {"statuses":["FAULT" if k%4==2 else "DONE" for k in range(15)],"done_count":11,"fault_count":4,"tenant_claims":mixed_tenants,
   "priority_claims":mixed_priority,"metrics":mixed_metrics,"control":{"142":15}},
  workgroup_size=1,workgroups=1)
write("mode/shutdown_ends_the_epoch","SHUTDOWN ends a persistent epoch: the one lane claims the CRITICAL SHUTDOWN slot, sets the flag and leaves at its next exit test; the rest stays PUBLISHED, nothing is out of fuel, and the host clears the acknowledged flag",
  "2.5, 2.6",
  wl("shutdown-epoch",[slot(SHUTDOWN,priority=0)]+[slot(NOP) for _ in range(5)]),
  {"statuses":["DONE"]+["PUBLISHED"]*5,"done_count":1,"control":{"0":0,"142":1,"145":0}},
  modes=["persistent","priority","jit"],workgroup_size=1,workgroups=1,epochs=1)
write("mode/fuel_exhausted_is_counted","A persistent lane whose fuel (2) runs out before the drain target settles runs exactly two iterations, one slot each, adds 1 to FUEL_EXHAUSTED and leaves the rest PUBLISHED",
  "2.6",
  wl("fuel",[slot(NOP) for _ in range(5)]),
  {"statuses":["DONE","DONE"]+["PUBLISHED"]*3,"done_count":2,"control":{"142":2,"145":1}},
  modes=["persistent","priority","jit"],control={"144":2},workgroup_size=1,workgroups=1,epochs=1)
# Fuel at its edges: 1 runs exactly one iteration, 0 runs none; either way the lane ran
# out and counts itself once.
write("mode/fuel_one_runs_one_iteration","A persistent lane with fuel 1 runs exactly one iteration (one slot), adds 1 to FUEL_EXHAUSTED, and leaves the rest PUBLISHED",
  "2.6",
  wl("fuel-one",[slot(NOP) for _ in range(3)]),
  {"statuses":["DONE"]+["PUBLISHED"]*2,"done_count":1,"control":{"142":1,"145":1}},
  modes=["persistent","priority","jit"],control={"144":1},workgroup_size=1,workgroups=1,epochs=1)
write("mode/fuel_zero_runs_nothing","A persistent lane with fuel 0 runs no iteration: it claims nothing, settles nothing, and adds 1 to FUEL_EXHAUSTED (every one of its 0 iterations ran)",
  "1.5, 2.6",
  wl("fuel-zero",[slot(NOP) for _ in range(3)]),
  {"statuses":["PUBLISHED"]*3,"done_count":0,"priority_claims":[0,0,0,0,0],"control":{"142":0,"145":1}},
  modes=["persistent","priority","jit"],control={"144":0},workgroup_size=1,workgroups=1,epochs=1)
# ---------------- IR edge values through a handler (1.4) ----------------
# Operands come from the slot's arguments (run-time values, not constants a compiler may
# fold); each result is stored into observable arg2 + k, so every engine and every lowering
# must compute them. Expected values follow spec 1.4, computed here independently.
MASK=0xFFFFFFFF
def s32(v): v&=MASK; return v-(1<<32) if v&0x80000000 else v
def u32(v): return v&MASK
def f32(bits): return struct.unpack('<f',struct.pack('<I',bits&MASK))[0]
def f2u(f):
    import math
    if math.isnan(f): return 0
    return 0 if f<=0 else (MASK if f>=4294967295.0 else int(f))
def f2i(f):
    import math
    if math.isnan(f): return 0
    if f>=2147483647.0: return 0x7FFFFFFF
    if f<=-2147483648.0: return 0x80000000
    return u32(int(f))
def i32div(x,y):
    a,b=s32(x),s32(y)
    if b==0 or (a==-2**31 and b==-1): return u32(x)
    q=abs(a)//abs(b); return u32(q if (a<0)==(b<0) else -q)
def i32rem(x,y):
    a,b=s32(x),s32(y)
    if b==0 or (a==-2**31 and b==-1): return 0
    r=abs(a)%abs(b); return u32(r if a>=0 else -r)
def cast(to,e): return {"cast":{"to":to,"value":e}}
def bits(to,e): return {"bitcast":{"to":to,"value":e}}
X,Y=var("arg0"),var("arg1")
XI,YI=cast("i32",X),cast("i32",Y)
EDGE=[  # (name, IR expression as u32, expected(x, y))
  ("u32 div",binop("div",X,Y),lambda x,y: x if y==0 else x//y),
  ("u32 rem",binop("rem",X,Y),lambda x,y: 0 if y==0 else x%y),
  ("i32 div",cast("u32",binop("div",XI,YI)),i32div),
  ("i32 rem",cast("u32",binop("rem",XI,YI)),i32rem),
  ("u32 shl",binop("shl",X,Y),lambda x,y: u32(x<<(y%32))),
  ("u32 shr",binop("shr",X,Y),lambda x,y: x>>(y%32)),
  ("i32 shr",cast("u32",binop("shr",XI,Y)),lambda x,y: u32(s32(x)>>(y%32))),
  ("i32 shl",cast("u32",binop("shl",XI,Y)),lambda x,y: u32(x<<(y%32))),
  ("i32 min",cast("u32",binop("min",XI,YI)),lambda x,y: u32(min(s32(x),s32(y)))),
  ("i32 max",cast("u32",binop("max",XI,YI)),lambda x,y: u32(max(s32(x),s32(y)))),
  ("u32 min",binop("min",X,Y),lambda x,y: min(x,y)),
  ("u32 lt",cast("u32",binop("lt",X,Y)),lambda x,y: int(x<y)),
  ("i32 lt",cast("u32",binop("lt",XI,YI)),lambda x,y: int(s32(x)<s32(y))),
  ("i32 neg",cast("u32",{"unary":{"op":"neg","operand":XI}}),lambda x,y: u32(-s32(x))),
  ("f32 to u32",cast("u32",bits("f32",X)),lambda x,y: f2u(f32(x))),
  ("f32 to i32",cast("u32",cast("i32",bits("f32",X))),lambda x,y: f2i(f32(x))),
]
EDGE_INPUTS=[(7,0),(0x80000000,0xFFFFFFFF),(0xFFFFFFF9,2),(0x4F800000,33),(0xCF000001,32),(0x40490FDB,0x7FFFFFFF)]
edge_handler={"name":"edge-values","opcode":0x110,"body":[
  {"store":{"buffer":"control","index":binop("add",lit(160),binop("add",var("arg2"),lit(k))),"value":e}} for k,(_,e,_) in enumerate(EDGE)]}
obs={}
for i,(x,y) in enumerate(EDGE_INPUTS):
    for k,(_,_,f) in enumerate(EDGE): obs[str(i*len(EDGE)+k)]=f(x,y)
write("ir/edge_values","Integer and conversion edge values computed at run time by a handler, every result an observable: u32 and i32 division and remainder by 0 and of i32::MIN by -1, shifts by 0, 31, 32 and 33 (amount modulo 32) of signed and unsigned values, signed and unsigned min, max and comparison, i32 negation of MIN, and f32 to u32/i32 conversion saturating at both bounds, of -0.0 and of NaN",
  "1.4",
  wl("edge-values",[slot(0x110,[x,y,i*len(EDGE)]) for i,(x,y) in enumerate(EDGE_INPUTS)],handlers=[edge_handler]),
  {"statuses":["DONE"]*len(EDGE_INPUTS),"done_count":len(EDGE_INPUTS),"observables":obs})
# ---------------- the IR semantics table (part 1), run by every engine ----------------
# One row per case: (what, operand types, result type, expression over the typed
# operands, operand words, expected result word). Operands are heap words the handler
# loads at run time (a compiler cannot fold them), results land at heap[256 + k]; the
# expected words are written from the spec's tables in 1.4 and 1.6, not computed. Only
# bit-exact classes of 1.6 are compared exactly; a tolerance-compared case is written as
# a bool that holds for every allowed result. A test (tests/tests/semantics_table.rs)
# fails when some op of the op table has no row.
def fb(x): return struct.unpack('<I',struct.pack('<f',x))[0]
NAN,INF=0x7FC00000,0x7F800000
I=lambda v: v&MASK
def un(op,a): return {"unary":{"op":op,"operand":a}}
def sel(c,a,b): return {"select":{"cond":c,"if_true":a,"if_false":b}}
def bi(op): return lambda a,b: binop(op,a,b)
TYPED={"u32":lambda e:e,"i32":lambda e:bits("i32",e),"f32":lambda e:bits("f32",e),"bool":lambda e:cast("bool",e)}
AS_WORD={"u32":lambda e:e,"i32":lambda e:bits("u32",e),"f32":lambda e:bits("u32",e),"bool":lambda e:cast("u32",e)}
def near(e,lo,hi): return binop("logical_and",binop("ge",e,{"literal":{"f32_bits":fb(lo)}}),binop("le",e,{"literal":{"f32_bits":fb(hi)}}))
def isnan(e): return binop("ne",e,e)
SEMANTICS={
 "arithmetic":[
  ("u32 add wraps","u32","u32",bi("add"),[MASK,1],0),
  ("i32 add wraps","i32","i32",bi("add"),[0x7FFFFFFF,1],0x80000000),
  ("f32 add rounds to nearest even","f32","f32",bi("add"),[fb(0.1),fb(0.2)],0x3E99999A),
  ("u32 sub wraps","u32","u32",bi("sub"),[0,1],MASK),
  ("i32 sub wraps","i32","i32",bi("sub"),[0x80000000,1],0x7FFFFFFF),
  ("f32 sub","f32","f32",bi("sub"),[fb(1.5),fb(-2.0)],fb(3.5)),
  ("u32 mul wraps","u32","u32",bi("mul"),[0x10000,0x10000],0),
  ("i32 mul signed","i32","i32",bi("mul"),[I(-3),7],I(-21)),
  ("i32 mul wraps","i32","i32",bi("mul"),[0x40000000,4],0),
  ("f32 mul","f32","f32",bi("mul"),[fb(1.5),fb(-2.0)],fb(-3.0)),
  ("u32 x / 0 == x","u32","u32",bi("div"),[7,0],7),
  ("u32 div truncates","u32","u32",bi("div"),[7,2],3),
  ("u32 div is unsigned","u32","u32",bi("div"),[MASK,2],0x7FFFFFFF),
  ("i32 MIN / -1 == MIN","i32","i32",bi("div"),[0x80000000,MASK],0x80000000),
  ("i32 div truncates toward zero","i32","i32",bi("div"),[I(-7),2],I(-3)),
  ("i32 div by a negative","i32","i32",bi("div"),[7,I(-2)],I(-3)),
  ("i32 x / 0 == x","i32","i32",bi("div"),[5,0],5),
  ("f32 div within 2.5 ULP","f32","bool",lambda a,b: near(binop("div",a,b),2.9999990,3.0000010),[fb(6.0),fb(2.0)],1),
  ("u32 x % 0 == 0","u32","u32",bi("rem"),[7,0],0),
  ("u32 rem","u32","u32",bi("rem"),[7,2],1),
  ("i32 MIN % -1 == 0","i32","i32",bi("rem"),[0x80000000,MASK],0),
  ("i32 rem takes the dividend's sign","i32","i32",bi("rem"),[I(-7),2],I(-1)),
  ("i32 rem of a positive by a negative","i32","i32",bi("rem"),[7,I(-2)],1),
  ("i32 x % 0 == 0","i32","i32",bi("rem"),[5,0],0),
  ("f32 rem is x - y * trunc(x / y)","f32","f32",bi("rem"),[fb(7.5),fb(2.0)],fb(1.5)),
  ("f32 rem takes the dividend's sign","f32","f32",bi("rem"),[fb(-7.5),fb(2.0)],fb(-1.5)),
  ("u32 min","u32","u32",bi("min"),[3,MASK],3),
  ("i32 min is signed","i32","i32",bi("min"),[I(-1),1],I(-1)),
  ("f32 min","f32","f32",bi("min"),[fb(-2.5),fb(1.0)],fb(-2.5)),
  ("f32 min with a NaN gives either operand","f32","bool",lambda a,b: binop("logical_or",isnan(binop("min",a,b)),binop("eq",binop("min",a,b),b)),[NAN,fb(1.0)],1),
  ("u32 max","u32","u32",bi("max"),[3,MASK],MASK),
  ("i32 max is signed","i32","i32",bi("max"),[0x80000000,I(-1)],I(-1)),
  ("f32 max","f32","f32",bi("max"),[fb(-0.5),fb(-2.0)],fb(-0.5)),
  ("i32 neg of MIN is MIN","i32","i32",lambda a: un("neg",a),[0x80000000],0x80000000),
  ("i32 neg","i32","i32",lambda a: un("neg",a),[5],I(-5)),
  ("f32 neg flips the sign","f32","f32",lambda a: un("neg",a),[fb(1.5)],fb(-1.5)),
 ],
 "bits":[
  ("u32 bit_and","u32","u32",bi("bit_and"),[0b1100,0b1010],0b1000),
  ("i32 bit_and","i32","i32",bi("bit_and"),[MASK,5],5),
  ("u32 bit_or","u32","u32",bi("bit_or"),[0b1100,0b1010],0b1110),
  ("i32 bit_or","i32","i32",bi("bit_or"),[0x80000000,1],0x80000001),
  ("u32 bit_xor","u32","u32",bi("bit_xor"),[0b1100,0b1010],0b0110),
  ("i32 bit_xor","i32","i32",bi("bit_xor"),[MASK,0x0F],0xFFFFFFF0),
  ("u32 bit_not","u32","u32",lambda a: un("bit_not",a),[0],MASK),
  ("i32 bit_not","i32","i32",lambda a: un("bit_not",a),[5],I(-6)),
  ("u32 shl amount mod 32",("u32","u32"),"u32",bi("shl"),[1,33],2),
  ("u32 shl by 31",("u32","u32"),"u32",bi("shl"),[1,31],0x80000000),
  ("u32 shl by 32 is by 0",("u32","u32"),"u32",bi("shl"),[5,32],5),
  ("i32 shl into the sign",("i32","u32"),"i32",bi("shl"),[MASK,31],0x80000000),
  ("u32 shr is logical, amount mod 32",("u32","u32"),"u32",bi("shr"),[0x80000000,35],0x10000000),
  ("u32 shr by 31",("u32","u32"),"u32",bi("shr"),[0x80000000,31],1),
  ("i32 shr is arithmetic",("i32","u32"),"i32",bi("shr"),[I(-8),1],I(-4)),
  ("i32 shr amount mod 32",("i32","u32"),"i32",bi("shr"),[I(-8),33],I(-4)),
  ("i32 shr of MIN by 31",("i32","u32"),"i32",bi("shr"),[0x80000000,31],MASK),
 ],
 "compare":[
  ("u32 eq","u32","bool",bi("eq"),[7,7],1),
  ("i32 eq","i32","bool",bi("eq"),[MASK,1],0),
  ("f32 NaN == NaN is false","f32","bool",bi("eq"),[NAN,NAN],0),
  ("f32 -0.0 == 0.0","f32","bool",bi("eq"),[0x80000000,0],1),
  ("bool eq","bool","bool",bi("eq"),[1,2],1),
  ("u32 ne","u32","bool",bi("ne"),[3,3],0),
  ("f32 NaN != NaN","f32","bool",bi("ne"),[NAN,NAN],1),
  ("bool ne","bool","bool",bi("ne"),[0,1],1),
  ("u32 lt is unsigned","u32","bool",bi("lt"),[MASK,0],0),
  ("i32 lt is signed","i32","bool",bi("lt"),[MASK,0],1),
  ("f32 lt with NaN is false","f32","bool",bi("lt"),[NAN,fb(1.0)],0),
  ("f32 lt","f32","bool",bi("lt"),[fb(-1.0),fb(0.5)],1),
  ("u32 le at equality","u32","bool",bi("le"),[5,5],1),
  ("i32 le is signed","i32","bool",bi("le"),[0,MASK],0),
  ("f32 le with NaN is false","f32","bool",bi("le"),[NAN,NAN],0),
  ("f32 -0.0 <= 0.0","f32","bool",bi("le"),[0x80000000,0],1),
  ("u32 gt is unsigned","u32","bool",bi("gt"),[0x80000000,1],1),
  ("i32 gt is signed","i32","bool",bi("gt"),[0x80000000,1],0),
  ("f32 infinity > MAX","f32","bool",bi("gt"),[INF,0x7F7FFFFF],1),
  ("u32 ge","u32","bool",bi("ge"),[0,MASK],0),
  ("i32 ge at equality","i32","bool",bi("ge"),[MASK,MASK],1),
  ("f32 ge with NaN is false","f32","bool",bi("ge"),[NAN,fb(0.0)],0),
  ("logical_and","bool","bool",bi("logical_and"),[1,0],0),
  ("logical_and of trues","bool","bool",bi("logical_and"),[3,1],1),
  ("logical_or","bool","bool",bi("logical_or"),[0,0],0),
  ("logical_or of one true","bool","bool",bi("logical_or"),[0,9],1),
  ("not","bool","bool",lambda a: un("not",a),[1],0),
  ("select false takes the second","u32","u32",lambda c,a,b: sel(binop("ne",c,lit(0)),a,b),[0,1,2],2),
  ("select i32","i32","i32",lambda c,a,b: sel(binop("ne",c,bits("i32",lit(0))),a,b),[1,I(-1),2],I(-1)),
  ("select f32","f32","f32",lambda c,a,b: sel(binop("eq",c,c),a,b),[NAN,fb(1.0),fb(2.0)],fb(2.0)),
  ("select bool","bool","bool",lambda c,a,b: sel(c,a,b),[1,0,1],0),
 ],
 "conversions":[
  ("u32 -> i32 keeps the bits",("u32",),"i32",lambda a: cast("i32",a),[MASK],MASK),
  ("i32 -> u32 keeps the bits",("i32",),"u32",lambda a: cast("u32",a),[0x80000000],0x80000000),
  ("f32 -> u32 truncates",("f32",),"u32",lambda a: cast("u32",a),[fb(3.9)],3),
  ("f32 -> u32 saturates below",("f32",),"u32",lambda a: cast("u32",a),[fb(-1.5)],0),
  ("f32 -> u32 saturates above",("f32",),"u32",lambda a: cast("u32",a),[fb(1e10)],MASK),
  ("f32 -> i32 truncates toward zero",("f32",),"i32",lambda a: cast("i32",a),[fb(-3.9)],I(-3)),
  ("f32 -> i32 saturates above",("f32",),"i32",lambda a: cast("i32",a),[fb(1e10)],0x7FFFFFFF),
  ("f32 -> i32 saturates below",("f32",),"i32",lambda a: cast("i32",a),[fb(-1e10)],0x80000000),
  ("f32 -0.0 -> u32 is 0",("f32",),"u32",lambda a: cast("u32",a),[0x80000000],0),
  ("u32 -> f32 exact up to 2^24",("u32",),"f32",lambda a: cast("f32",a),[16777216],fb(16777216.0)),
  ("u32 -> f32 above 2^24 takes a neighbour",("u32",),"bool",lambda a: binop("logical_or",binop("eq",cast("f32",a),{"literal":{"f32_bits":fb(16777216.0)}}),binop("eq",cast("f32",a),{"literal":{"f32_bits":fb(16777218.0)}})),[16777217],1),
  ("i32 -> f32",("i32",),"f32",lambda a: cast("f32",a),[I(-2)],fb(-2.0)),
  ("bool -> u32",("bool",),"u32",lambda a: cast("u32",a),[7],1),
  ("bool -> i32",("bool",),"i32",lambda a: cast("i32",a),[0],0),
  ("bool -> f32",("bool",),"f32",lambda a: cast("f32",a),[1],fb(1.0)),
  ("u32 -> bool is x != 0",("u32",),"bool",lambda a: cast("bool",a),[5],1),
  ("u32 0 -> bool is false",("u32",),"bool",lambda a: cast("bool",a),[0],0),
  ("i32 -> bool",("i32",),"bool",lambda a: cast("bool",a),[MASK],1),
  ("f32 NaN -> bool is true",("f32",),"bool",lambda a: cast("bool",a),[NAN],1),
  ("f32 -0.0 -> bool is false",("f32",),"bool",lambda a: cast("bool",a),[0x80000000],0),
  ("u32 -> u32 is the identity",("u32",),"u32",lambda a: cast("u32",a),[0xDEADBEEF],0xDEADBEEF),
  ("i32 -> i32 is the identity",("i32",),"i32",lambda a: cast("i32",a),[I(-9)],I(-9)),
  ("bool -> bool is the identity",("bool",),"bool",lambda a: cast("bool",a),[4],1),
  ("f32 -> f32 is the identity",("f32",),"f32",lambda a: cast("f32",a),[fb(1.5)],fb(1.5)),
  ("bitcast f32 -> u32",("f32",),"u32",lambda a: bits("u32",a),[fb(1.0)],0x3F800000),
  ("bitcast u32 -> f32 -> u32",("u32",),"f32",lambda a: bits("f32",a),[0x40000000],0x40000000),
  ("bitcast i32 -> f32",("i32",),"f32",lambda a: bits("f32",a),[fb(-2.0)],fb(-2.0)),
  ("bitcast f32 -> i32",("f32",),"i32",lambda a: bits("i32",a),[fb(-2.0)],fb(-2.0)),
 ],
 "memory":[
  ("load past the buffer reads 0",("u32",),"u32",lambda a: load("heap",a),[1000000],0),
  ("load of the last word",("u32",),"u32",lambda a: load("heap",a),[511],0x5A5A5A5A),
  ("len(heap) is the declared words",(),"u32",lambda: {"buffer_len":{"buffer":"heap"}},[],512),
  ("workgroup_size builtin",(),"u32",lambda: {"builtin":"workgroup_size"},[],8),
  ("workgroup_id < num_workgroups",(),"bool",lambda: binop("lt",{"builtin":"workgroup_id"},{"builtin":"num_workgroups"}),[],1),
  ("local id < workgroup_size",(),"bool",lambda: binop("lt",{"builtin":"local_invocation_id"},{"builtin":"workgroup_size"}),[],1),
  ("global id = workgroup id * size + local id",(),"bool",lambda: binop("eq",{"builtin":"global_invocation_id"},binop("add",binop("mul",{"builtin":"workgroup_id"},{"builtin":"workgroup_size"}),{"builtin":"local_invocation_id"})),[],1),
 ],
}
SEM_RESULTS=256
for family,rows in SEMANTICS.items():
    assert len(rows)<=64
    body=[]; heap_init=[]; expect={}; labels={}
    for k,(what,types,result,expr,operands,want) in enumerate(rows):
        types=(types,)*len(operands) if isinstance(types,str) else types
        assert len(types)==len(operands)<=4, what
        args=[TYPED[t](load("heap",lit(4*k+j))) for j,t in enumerate(types)]
        body.append({"store":{"buffer":"heap","index":lit(SEM_RESULTS+k),"value":AS_WORD[result](expr(*args))}})
        if operands: heap_init.append((4*k,operands))
        expect[str(SEM_RESULTS+k)]=want; labels[str(SEM_RESULTS+k)]=what
    heap_init.append((511,[0x5A5A5A5A]))
    write(f"ir/semantics_{family}",f"Part 1's semantics table, {family}: each row an operation at an edge value on operands loaded at run time, its result at heap[{SEM_RESULTS} + row] (heap_labels name the rows); tolerance-compared f32 results (1.6) are checked as a bool that holds for every allowed result",
      "1.4, 1.6",
      wl(f"semantics-{family}",[slot(0x150)],heap_init=heap_init,heap_words=512,handlers=[h_store(0x150,body)]),
      {"statuses":["DONE"],"done_count":1,"heap":expect,"heap_labels":labels})
# ---------------- modes ----------------
for mode in ["once","persistent","priority","jit"]:
    slots=[slot(ADD,[i%8,1+i%3],tenant=i%2,priority=i%5) for i in range(40)]
    heap={}
    for i in range(40): heap[str(i%8)]=heap.get(str(i%8),0)+1+i%3
    write(f"mode/{mode}",f"{mode} mode drains 40 slots over every priority exactly once: per-word sums, claims per tenant and per priority","2.6",
      wl(f"mode-{mode}",slots),
      {"statuses":["DONE"]*40,"done_count":40,"heap":heap,"tenant_claims":{"0":20,"1":20},"priority_claims":[8,8,8,8,8]},
      modes=[mode], workgroup_size=8, workgroups=4)
# ---------------- priority claim cursors (2.7) ----------------
def atomic(op,buf,idx,args,result=None):
    a={"op":op,"buffer":buf,"index":lit(idx),"args":[lit(x) for x in args]}
    if result: a["result"]=result
    return {"atomic":a}
recorder={"name":"record-order","opcode":0x100,"body":[atomic("add","heap",0,[1],"k"),
  {"store":{"buffer":"heap","index":binop("add",lit(1),var("k")),"value":var("slot")}}]}
write("mode/priority_claim_order","Priority claim order of one lane: CRITICAL first in slot order; with the starvation counter one below the threshold, the first claim is urgent-first and the next idle-first (IDLE's first slot), then urgent-first again until CRITICAL's sweep is finished, then IDLE",
  "2.7",
  wl("priority-order",[slot(0x100,priority=0) for _ in range(3)]+[slot(0x100,priority=4) for _ in range(2)],handlers=[recorder]),
  {"statuses":["DONE"]*5,"priority_claims":[3,0,0,0,2],"heap":{"0":5,"1":0,"2":3,"3":1,"4":2,"5":4}},
  modes=["priority"],control={"135":15},workgroup_size=1,workgroups=1)
publisher={"name":"publish-slot-0","opcode":0x103,"body":[atomic("add","control",141,[1]),atomic("store","ring",0,[1])]}
write("mode/priority_rewind_finds_late_publication","A slot published during the epoch behind every claim cursor (a handler publishes slot 0, EMPTY when the epoch began, after counting it into DRAIN_TARGET) is claimed in the same epoch: lanes that find every sweep finished rewind the cursors",
  "2.6, 2.7",
  wl("priority-rewind",[slot(NOP),slot(0x103)],handlers=[publisher]),
  {"statuses":["DONE","DONE"],"done_count":2,"priority_claims":[0,0,2,0,0]},
  modes=["persistent","priority"],initial_status=[{"slot":0,"status":"EMPTY"}],epochs=1)
# ---------------- transitions ----------------
S=["EMPTY","PUBLISHED","CLAIMED","DONE","WAIT_IO","YIELD","REQUEUE","FAULT"]
LEGAL={("host_publish",f):"PUBLISHED" for f in ["EMPTY","YIELD","REQUEUE"]}
LEGAL.update({("host_cancel",f):"EMPTY" for f in ["PUBLISHED","YIELD","REQUEUE"]})
LEGAL.update({("host_fault",f):"FAULT" for f in ["PUBLISHED","WAIT_IO","YIELD","REQUEUE"]})
LEGAL.update({("host_recycle",f):"EMPTY" for f in ["DONE","FAULT"]})
LEGAL[("host_io_complete","WAIT_IO")]="PUBLISHED"
DEV={"device_claim":"PUBLISHED","device_done":"CLAIMED","device_wait_io":"CLAIMED","device_yield":"CLAIMED","device_requeue":"CLAIMED","device_fault":"CLAIMED"}
for a,f in DEV.items():
    LEGAL[(a, f)] = {"device_claim":"CLAIMED","device_done":"DONE","device_wait_io":"WAIT_IO","device_yield":"YIELD","device_requeue":"REQUEUE","device_fault":"FAULT"}[a]
assert len(LEGAL)==19
ACTIONS=["host_publish","host_cancel","host_fault","host_recycle","host_io_complete"]+list(DEV)
# After the drain, where does a slot in status s end (subject opcode NOP)?
def drained(s):
    return {"PUBLISHED":"DONE","YIELD":"DONE","REQUEUE":"DONE"}.get(s,s)
yield_handler=h_store(0x101,[{"assign":{"name":"next_status","value":lit(5)}}])
requeue_handler=h_store(0x102,[{"assign":{"name":"next_status","value":lit(6)}}])
DEV_OP={"device_claim":(NOP,[]),"device_done":(NOP,[]),"device_wait_io":(LOAD_MISS,[0,0,0,4,60,0]),
        "device_yield":(0x101,[]),"device_requeue":(0x102,[]),"device_fault":(0x4242,[])}
witness=slot(NOP,tenant=1)
for a in ACTIONS:
    for f in S:
        legal=(a,f) in LEGAL
        kind="legal" if legal else "illegal"
        name=f"transition/{kind}/{a}_from_{f.lower()}"
        if a.startswith("host"):
            to=LEGAL.get((a,f))
            after=to if legal else f
            final=drained(after)
            subject=slot(NOP)
            init=[] if f=="PUBLISHED" else [{"slot":0,"status":f}]
            ran = after in ("PUBLISHED","YIELD","REQUEUE")
            exp={"statuses":[final,"DONE"],"tenant_claims":{"0":1 if ran else 0,"1":1}}
            about=(f"host {a[5:]} from {f} is legal and leads to {to}; after the drain the slot is {final}" if legal
                   else f"host {a[5:]} from {f} is illegal: the codec refuses it and the slot stays {f} (after the drain: {final})")
            write(name,about,"2.3",wl(name.replace('/','-'),[subject,witness],handlers=[]),exp,
                  initial_status=init or None,host_actions=[{"slot":0,"action":a,"expect":to}])
        else:
            op,args=DEV_OP[a]
            handlers=[yield_handler,requeue_handler]
            files=[{"path":"../../data/bytes-64.bin"}]
            if legal:
                subject=slot(op,args)
                to=LEGAL[(a,f)]
                final = "DONE" if a=="device_claim" else to
                exp={"statuses":[final,"DONE"],"tenant_claims":{"0":1,"1":1}}
                about=(f"a lane claims a PUBLISHED slot with a strong compare-exchange (then NOP ends it DONE)" if a=="device_claim"
                       else f"a lane that claimed the slot (PUBLISHED -> CLAIMED) ends it {to} (one epoch, before the host services it)")
                init=None
            else:
                # A lane never acts on a slot it did not claim: the slot keeps its status.
                denied = f=="PUBLISHED"
                subject=slot(op,args,tenant=2 if denied else 0)
                exp={"statuses":[f,"DONE"],"tenant_claims":{"0":0,"1":1,"2":0}}
                about=(f"device {a[7:]} from {f} is illegal: a lane never acts on a slot it did not claim, so the slot stays {f}"
                       + (" (its tenant is denied, so no lane may claim it)" if denied else ""))
                init=None if denied else [{"slot":0,"status":f}]
            write(name,about,"2.3, 2.4",wl(name.replace('/','-'),[subject,witness],handlers=handlers,files=files),exp,
                  initial_status=init,epochs=1)
# ---------------- deviations ----------------
write("deviation/1_out_of_range_tenant","Deviation 1: a tenant id >= 29 is denied and its slot stays PUBLISHED, never run - even when the word past the mask table is non-zero (138 lands on DRAIN_TARGET)",
  "2.4, 2.11",
  wl("dev1",[slot(ADD,[0,1],tenant=t) for t in [29,40,138,0xFFFFFFFF]]+[slot(ADD,[1,1])]),
  {"statuses":["PUBLISHED"]*4+["DONE"],"heap":{"0":0,"1":1},"done_count":1,"tenant_claims":{"0":1}},
  control={"32":1})
write("deviation/2_exactly_once","Deviation 2: the claim is a strong compare-exchange, so 64 slots each adding 1 to the same word run exactly once on 32 lanes",
  "2.4, 2.11",
  wl("dev2",[slot(ADD,[0,1],priority=i%5) for i in range(64)]),
  {"statuses":["DONE"]*64,"heap":{"0":64},"done_count":64,"tenant_claims":{"0":64},"metrics":{"2":64}},workgroups=4,
  schedules=32)
write("deviation/3_urgent_work_not_locked_out","Deviation 3: with the starvation counter past its threshold and only CRITICAL work published, the idle-first scan still ends at CRITICAL and drains it",
  "2.7, 2.11",
  wl("dev3",[slot(ADD,[i,1],priority=0) for i in range(24)]),
  {"statuses":["DONE"]*24,"done_count":24,"priority_claims":[24,0,0,0,0],"heap":{str(i):1 for i in range(24)}},
  modes=["priority"],control={"135":1000},workgroups=4)
write("deviation/4_observables_inside_control","Deviation 4: the observable area is inside the declared control buffer: the last observable (95) is written, the next one FAULTs",
  "2.5, 2.11",
  wl("dev4",[slot(LOAD,[1,95]),slot(LOAD,[1,96])],heap_init=[(1,[42])]),
  {"statuses":["DONE","FAULT"],"observables":{"95":42}})
write("deviation/5_load_miss_parks","Deviation 5: LOAD_MISS does not spin waiting for the host: after one epoch the slot is parked WAIT_IO while every other slot is DONE",
  "2.8, 2.11",
  wl("dev5",[slot(LOAD_MISS,[0,0,0,8,60,0])]+[slot(NOP) for _ in range(8)],files=[{"path":"../data/bytes-64.bin"}]),
  {"statuses":["WAIT_IO"]+["DONE"]*8,"done_count":8},epochs=1)
write("deviation/6_debug_log_capacity","Deviation 6: PRINTF past the debug log's 64 records writes nothing and counts DEBUG_DROPPED",
  "2.5, 2.11",
  wl("dev6",[slot(PRINTF,[i]) for i in range(70)]),
  {"statuses":["DONE"]*70,"debug_record_count":64,"debug_dropped":6,"done_count":70})
# ---------------- rules at their edge, read back (2.4-2.8, part 1) ----------------
write("opcode/user_status_sanitized","A user handler's next_status other than DONE, WAIT_IO, YIELD, REQUEUE or FAULT becomes FAULT (2.4 step 5)","2.4",
  wl("sanitize",[slot(0x120,[v]) for v in [99,1,2,0,8,0xFFFFFFFF]],handlers=[h_store(0x120,[{"assign":{"name":"next_status","value":var("arg0")}}])]),
  {"statuses":["FAULT"]*6,"fault_count":6,"done_count":0},modes=["once"])
write("mode/lanes_leave_at_the_drain_target","Every persistent lane leaves once the epoch's slots are settled: the lane that finds SETTLED at DRAIN_TARGET closes the epoch and the others leave on CLOSED, so no lane runs out of fuel (FUEL_EXHAUSTED and LOOP_CUTOFF stay 0) and SETTLED counts each slot once",
  "2.6, 2.10",
  wl("leave",[slot(NOP) for _ in range(6)]),
  {"statuses":["DONE"]*6,"done_count":6,"control":{"142":6,"145":0,"148":0}},
  modes=["persistent","priority","jit"],workgroup_size=8,workgroups=2,epochs=1)
write("mode/fuel_exhausted_resets_each_epoch","The host resets FUEL_EXHAUSTED and SETTLED before every epoch: one lane with fuel 3 settles three of four slots in epoch 0 and runs out; in epoch 1 it settles the last and leaves at the target",
  "2.6, 2.10",
  wl("fuel-reset",[slot(NOP) for _ in range(4)]),
  {"statuses":["DONE"]*4,"done_count":4,"control":{"142":1,"145":0}},
  modes=["persistent","priority","jit"],control={"144":3},workgroup_size=1,workgroups=1,epochs=2)
requeue_once={"name":"record-then-requeue-once","opcode":0x130,"body":[atomic("add","heap",100,[1],"k"),
  {"store":{"buffer":"control","index":binop("add",lit(160),var("k")),"value":var("slot")}},
  {"if":{"cond":binop("logical_and",binop("eq",var("arg0"),lit(1)),binop("eq",load("heap",lit(101)),lit(0))),
         "then":[{"store":{"buffer":"heap","index":lit(101),"value":lit(1)}},{"assign":{"name":"next_status","value":lit(6)}}],"otherwise":[]}}]}
write("mode/priority_cursor_set_each_epoch","The host sets each claim cursor to its partition's first runnable slot before every epoch: slot 0 re-queues itself in epoch 0 (fuel 3 claims slots 0, 1, 2), so epoch 1 claims it again before slot 3 (claim order in the observables)",
  "2.7",
  wl("cursor-reset",[slot(0x130,[1])]+[slot(0x130) for _ in range(3)],handlers=[requeue_once]),
  {"statuses":["DONE"]*4,"observables":{"0":0,"1":1,"2":2,"3":0,"4":3},"heap":{"100":5}},
  modes=["priority"],control={"144":3},workgroup_size=1,workgroups=1)
write("opcode/memcpy_longest","MEMCPY copies at most 1024 words: 1024 words run, 1025 FAULT and write nothing (heap of 4096 words)","2.5",
  wl("memcpy-longest",[slot(MEMCPY,[2048,0,1024]),slot(MEMCPY,[3000,0,1025])],heap_init=[(0,[5]),(1023,[9]),(1024,[4])],heap_words=4096),
  {"statuses":["DONE","FAULT"],"heap":{"2048":5,"3071":9,"3072":0,"4024":0},"done_count":1,"fault_count":1})
oob_body=[{"store":{"buffer":"control","index":lit(160),"value":load("heap",var("arg0"))}},
  {"store":{"buffer":"heap","index":var("arg1"),"value":lit(9)}},
  {"atomic":{"op":"add","buffer":"heap","index":var("arg0"),"args":[lit(1)],"result":"old"}},
  {"store":{"buffer":"control","index":lit(161),"value":binop("add",var("old"),lit(1))}}]
write("ir/out_of_bounds_access","Part 1: a load past a buffer yields 0, a store past it is dropped, an atomic past it does nothing and yields 0 (the heap's last word is untouched)","1.5, 2.5",
  wl("oob",[slot(0x140,[256,256]),slot(0x140,[0xFFFFFFFF,1000])],heap_init=[(255,[7])],handlers=[h_store(0x140,oob_body)]),
  {"statuses":["DONE","DONE"],"heap":{"255":7,"0":0},"observables":{"0":0,"1":1}},modes=["once"])
write("opcode/load_miss_partial_word","LOAD_MISS of 6 bytes fills one word and the low half of the next; the rest of the last word is zero","2.8",
  wl("partial",[slot(LOAD_MISS,[0,0,0,6,10,0]),slot(LOAD_MISS,[0,9,0,1,20,0])],files=[{"path":"../data/bytes-64.bin"}],heap_init=[(11,[0xFFFFFFFF]),(20,[0xFFFFFFFF])]),
  {"statuses":["DONE","DONE"],"heap":{"10":word(0),"11":word(4)&0xFFFF,"20":DATA[9]},"io_completions":[2,0]})
import zlib
crc_body=[{"let":{"name":"c","ty":"u32","value":var("arg2")}},
  {"crc32":{"var":"c","buffer":"heap","word":var("arg0"),"bytes":var("arg1")}},
  {"store":{"buffer":"control","index":binop("add",lit(160),var("arg3")),"value":var("c")}}]
CRC_TAIL=[(k*0x9E3779B9+7)&MASK for k in range(6)]
HEAP_BYTES=DATA+bytes(4*250-64)+b"".join(struct.pack('<I',w) for w in CRC_TAIL)
crc_cases=[(0,64,0),(1,7,0),(3,3,0),(0,0,0x1234),(250,100,0),(300,8,0x55),(2,56,zlib.crc32(DATA[:8])),(255,5,0),(0,0xFFFFFFFF,0)]
def crc_of(w,n,c):
    start=4*w
    return zlib.crc32(HEAP_BYTES[start:start+max(0,min(n,len(HEAP_BYTES)-start))],c) if start<len(HEAP_BYTES) else c
write("ir/crc32_range","Part 1's crc32 statement: zlib's CRC-32 of a byte range of a buffer, continuing the variable's CRC: whole words, a range ending inside a word (its low bytes first), an empty range, a range clamped at the buffer's end, one starting past it, a continued CRC, and a byte count of 2^32 - 1 (the whole rest of the buffer)","1.5",
  wl("crc32",[slot(0x160,[w,n,c,k]) for k,(w,n,c) in enumerate(crc_cases)],heap_init=[(0,[word(4*i) for i in range(16)]),(250,CRC_TAIL)],handlers=[h_store(0x160,crc_body)]),
  {"statuses":["DONE"]*len(crc_cases),"observables":{str(k):crc_of(w,n,c) for k,(w,n,c) in enumerate(crc_cases)}})
print(count)
