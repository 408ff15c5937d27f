# Made Tests/Fixtures/media/sampling.json on the accelerator machine (torch 2.11.0, no qwen-omni-utils there):
#   OUT=DIR python3 make_sampling_reference.py
# nf/sr are qwen-omni-utils 0.0.9's smart_nframes and smart_resize (v2_5/vision_process.py), transcribed
# line for line; the indices are torch.linspace(0, total - 1, nframes).round().long() as fetch_video computes
# them, and sample_fps = nframes / total * video_fps. "sizes" are fetch_video's resized frame sizes (min pixels
# 128·28², max pixels max(min(768·28², total_pixels / nframes · 2), int(min_pixels · 1.05)), total_pixels =
# 128000·28²·0.9).
import json,math,torch
rbf=lambda n,f:round(n/f)*f
cbf=lambda n,f:math.ceil(n/f)*f
fbf=lambda n,f:math.floor(n/f)*f
def nf(e,t,vf):
 fps=e.get("fps",2.0);mn=cbf(e.get("min_frames",4),2);mx=fbf(e.get("max_frames",min(768,t)),2)
 n=t/vf*fps;n=min(min(max(n,mn),mx),t);n=fbf(n,2)
 if not(2<=n<=t):raise ValueError
 return n
def sr(h,w,f,mn,mx):
 hb=max(f,rbf(h,f));wb=max(f,rbf(w,f))
 if hb*wb>mx:b=math.sqrt(h*w/mx);hb=fbf(h/b,f);wb=fbf(w/b,f)
 elif hb*wb<mn:b=math.sqrt(mn/(h*w));hb=cbf(h*b,f);wb=cbf(w*b,f)
 return hb,wb
C=[]
for t in [4,5,7,8,25,30,61,75,100,149,150,241,300,1000,1799,3001,18000,18001]:
 for vf in [2.0,23.976023976023978,25.0,29.97002997002997,30.0,60.0]:
  for fps,m in [(2.0,None),(1.0,None),(0.5,16),(4.0,64),(2.0,7)]:
   e={"fps":fps} if m is None else {"fps":fps,"max_frames":m}
   d={"total":t,"video_fps":vf,"fps":fps,"max_frames":m}
   try:n=nf(e,t,vf)
   except ValueError:d["error"]=True;C.append(d);continue
   d.update(nframes=n,indices=torch.linspace(0,t-1,n).round().long().tolist(),sample_fps=n/max(t,1e-6)*vf);C.append(d)
S=[]
for h,w in [(112,140),(1080,1920),(720,1280),(480,640),(2160,3840),(50,3000),(333,777)]:
 for n in [4,16,64,768]:
  mn=128*784;tp=128000*784*0.9;mx=max(min(768*784,tp/n*2),int(mn*1.05))
  a,b=sr(h,w,28,mn,mx);S.append(dict(height=h,width=w,nframes=n,resized_height=a,resized_width=b))
import os;json.dump({"torch":torch.__version__,"cases":C,"sizes":S},open(os.environ["OUT"]+"/sampling.json","w"),separators=(",",":"))
print(len(C),len(S))
