;; f64x2 (and one f32x4) SIMD kernels of the GW solvers, assembled at load by ./wat.ts (no build step, no toolchain).
;; All pointers are byte offsets into the module's memory; the JS side (./kernels.ts) lays data out.
(module
  (memory (export "memory") 1)

  ;; out[0:rows, 0:4·panels] += A[0:rows, 0:kb] · Bpacked, rows a multiple of 4.
  ;; A: row-major, row stride $lda bytes. Bpacked: panels of [kb, 4] (column block q at $bp + q·kb·32).
  ;; out: row-major, row stride $ldc bytes. A 4×4 register tile: 8 f64x2 accumulators.
  (func (export "matmulPanels")
    (param $a i32) (param $lda i32) (param $bp i32) (param $c i32) (param $ldc i32)
    (param $rows i32) (param $kb i32) (param $panels i32)
    (local $q i32) (local $i i32) (local $p i32) (local $pa i32) (local $pb i32) (local $bq i32)
    (local $ar i32) (local $cr i32) (local $lda2 i32) (local $lda3 i32) (local $x v128)
    (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    local.get $lda i32.const 1 i32.shl local.set $lda2
    local.get $lda2 local.get $lda i32.add local.set $lda3
    local.get $bp local.set $bq
    i32.const 0 local.set $q
    loop $Lq
      i32.const 0 local.set $i
      local.get $a local.set $ar
      ;; cr = c + q·32
      local.get $c local.get $q i32.const 5 i32.shl i32.add local.set $cr
      loop $Li
        v128.const f64x2 0 0 local.tee $c00 local.tee $c01 local.tee $c10 local.tee $c11
        local.tee $c20 local.tee $c21 local.tee $c30 local.set $c31
        local.get $ar local.set $pa
        local.get $bq local.set $pb
        local.get $kb local.set $p
        loop $Lp
          local.get $pb v128.load local.set $b0
          local.get $pb v128.load offset=16 local.set $b1
          local.get $pa v128.load64_splat local.tee $x local.get $b0 f64x2.mul local.get $c00 f64x2.add local.set $c00
          local.get $x local.get $b1 f64x2.mul local.get $c01 f64x2.add local.set $c01
          local.get $pa local.get $lda i32.add v128.load64_splat local.tee $x
          local.get $b0 f64x2.mul local.get $c10 f64x2.add local.set $c10
          local.get $x local.get $b1 f64x2.mul local.get $c11 f64x2.add local.set $c11
          local.get $pa local.get $lda2 i32.add v128.load64_splat local.tee $x
          local.get $b0 f64x2.mul local.get $c20 f64x2.add local.set $c20
          local.get $x local.get $b1 f64x2.mul local.get $c21 f64x2.add local.set $c21
          local.get $pa local.get $lda3 i32.add v128.load64_splat local.tee $x
          local.get $b0 f64x2.mul local.get $c30 f64x2.add local.set $c30
          local.get $x local.get $b1 f64x2.mul local.get $c31 f64x2.add local.set $c31
          local.get $pa i32.const 8 i32.add local.set $pa
          local.get $pb i32.const 32 i32.add local.set $pb
          local.get $p i32.const 1 i32.sub local.tee $p
          br_if $Lp
        end
        ;; out tile += accumulators, row by row
        local.get $cr local.get $cr v128.load local.get $c00 f64x2.add v128.store
        local.get $cr local.get $cr v128.load offset=16 local.get $c01 f64x2.add v128.store offset=16
        local.get $cr local.get $ldc i32.add local.tee $cr local.get $cr v128.load local.get $c10 f64x2.add v128.store
        local.get $cr local.get $cr v128.load offset=16 local.get $c11 f64x2.add v128.store offset=16
        local.get $cr local.get $ldc i32.add local.tee $cr local.get $cr v128.load local.get $c20 f64x2.add v128.store
        local.get $cr local.get $cr v128.load offset=16 local.get $c21 f64x2.add v128.store offset=16
        local.get $cr local.get $ldc i32.add local.tee $cr local.get $cr v128.load local.get $c30 f64x2.add v128.store
        local.get $cr local.get $cr v128.load offset=16 local.get $c31 f64x2.add v128.store offset=16
        local.get $cr local.get $ldc i32.add local.set $cr
        local.get $ar local.get $lda i32.const 2 i32.shl i32.add local.set $ar
        local.get $i i32.const 4 i32.add local.tee $i
        local.get $rows i32.lt_u
        br_if $Li
      end
      ;; next panel: bq += kb·32
      local.get $bq local.get $kb i32.const 5 i32.shl i32.add local.set $bq
      local.get $q i32.const 1 i32.add local.tee $q
      local.get $panels i32.lt_u
      br_if $Lq
    end)

  ;; matmulPanels in f32: out[0:rows, 0:8·panels] += A[0:rows, 0:kb] · B[0:kb, 0:8·panels], all f32, with
  ;; a 4×8 register tile: 8 f32x4 accumulators, twice the multiply-adds per instruction of the f64 kernel.
  ;; B is read in place, row stride $ldb bytes (no packing: the JS side's f64 → f32 copy is the only pass;
  ;; an odd number of cache lines per row keeps a column panel's kb lines from aliasing in L1).
  ;; For products whose rounding is tolerable (entropic-gw.ts's f32Products).
  (func (export "matmulPanelsF32")
    (param $a i32) (param $lda i32) (param $bp i32) (param $ldb i32) (param $c i32) (param $ldc i32)
    (param $rows i32) (param $kb i32) (param $panels i32)
    (local $q i32) (local $i i32) (local $p i32) (local $pa i32) (local $pb i32) (local $bq i32)
    (local $ar i32) (local $cr i32) (local $lda2 i32) (local $lda3 i32) (local $x v128)
    (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    local.get $lda i32.const 1 i32.shl local.set $lda2
    local.get $lda2 local.get $lda i32.add local.set $lda3
    local.get $bp local.set $bq
    i32.const 0 local.set $q
    loop $Lq
      i32.const 0 local.set $i
      local.get $a local.set $ar
      ;; cr = c + q·32
      local.get $c local.get $q i32.const 5 i32.shl i32.add local.set $cr
      loop $Li
        v128.const f64x2 0 0 local.tee $c00 local.tee $c01 local.tee $c10 local.tee $c11
        local.tee $c20 local.tee $c21 local.tee $c30 local.set $c31
        local.get $ar local.set $pa
        local.get $bq local.set $pb
        local.get $kb local.set $p
        loop $Lp
          local.get $pb v128.load local.set $b0
          local.get $pb v128.load offset=16 local.set $b1
          local.get $pa v128.load32_splat local.tee $x local.get $b0 f32x4.mul local.get $c00 f32x4.add local.set $c00
          local.get $x local.get $b1 f32x4.mul local.get $c01 f32x4.add local.set $c01
          local.get $pa local.get $lda i32.add v128.load32_splat local.tee $x
          local.get $b0 f32x4.mul local.get $c10 f32x4.add local.set $c10
          local.get $x local.get $b1 f32x4.mul local.get $c11 f32x4.add local.set $c11
          local.get $pa local.get $lda2 i32.add v128.load32_splat local.tee $x
          local.get $b0 f32x4.mul local.get $c20 f32x4.add local.set $c20
          local.get $x local.get $b1 f32x4.mul local.get $c21 f32x4.add local.set $c21
          local.get $pa local.get $lda3 i32.add v128.load32_splat local.tee $x
          local.get $b0 f32x4.mul local.get $c30 f32x4.add local.set $c30
          local.get $x local.get $b1 f32x4.mul local.get $c31 f32x4.add local.set $c31
          local.get $pa i32.const 4 i32.add local.set $pa
          local.get $pb local.get $ldb i32.add local.set $pb
          local.get $p i32.const 1 i32.sub local.tee $p
          br_if $Lp
        end
        ;; out tile += accumulators, row by row
        local.get $cr local.get $cr v128.load local.get $c00 f32x4.add v128.store
        local.get $cr local.get $cr v128.load offset=16 local.get $c01 f32x4.add v128.store offset=16
        local.get $cr local.get $ldc i32.add local.tee $cr local.get $cr v128.load local.get $c10 f32x4.add v128.store
        local.get $cr local.get $cr v128.load offset=16 local.get $c11 f32x4.add v128.store offset=16
        local.get $cr local.get $ldc i32.add local.tee $cr local.get $cr v128.load local.get $c20 f32x4.add v128.store
        local.get $cr local.get $cr v128.load offset=16 local.get $c21 f32x4.add v128.store offset=16
        local.get $cr local.get $ldc i32.add local.tee $cr local.get $cr v128.load local.get $c30 f32x4.add v128.store
        local.get $cr local.get $cr v128.load offset=16 local.get $c31 f32x4.add v128.store offset=16
        local.get $cr local.get $ldc i32.add local.set $cr
        local.get $ar local.get $lda i32.const 2 i32.shl i32.add local.set $ar
        local.get $i i32.const 4 i32.add local.tee $i
        local.get $rows i32.lt_u
        br_if $Li
      end
      ;; next panel: 8 columns on
      local.get $bq i32.const 32 i32.add local.set $bq
      local.get $q i32.const 1 i32.add local.tee $q
      local.get $panels i32.lt_u
      br_if $Lq
    end)

  ;; One Sinkhorn u-step with the next Kᵀu fused in (sinkhorn.ts's sweep): for each row i,
  ;; s = K[i,:]·v, u[i] = a[i]/s (0 where a[i] ≤ 0), col += u[i]·K[i,:]. col must be zero on entry.
  ;; With $relax ≠ 0 the step is over-relaxed: u[i] = u_old·r^ω with r = a[i]/(u_old·s) and
  ;; ω = 1 + Σ_k bit_k(relax)·2^−(k+1) (bit 0 the highest): r^ω = r·Π r^(2^−(k+1)), one square root
  ;; per bit position up to the highest set bit (no pow in WebAssembly). u_old ≤ 0 takes the plain step.
  ;; Returns how many rows had a[i] > 0 and s not above 1e-280 (their u is set to 0).
  (func (export "sinkhornRows")
    (param $K i32) (param $v i32) (param $a i32) (param $u i32) (param $col i32) (param $n i32) (param $m i32)
    (param $relax i32)
    (result i32)
    (local $i i32) (local $row i32) (local $jb i32) (local $m4b i32) (local $mb i32) (local $bad i32)
    (local $ai f64) (local $s f64) (local $x f64) (local $s0 v128) (local $s1 v128) (local $xs v128)
    (local $uo f64) (local $f f64) (local $r i32)
    local.get $m i32.const -4 i32.and i32.const 3 i32.shl local.set $m4b
    local.get $m i32.const 3 i32.shl local.set $mb
    local.get $K local.set $row
    i32.const 0 local.set $i
    block $Done
      local.get $n i32.eqz br_if $Done
      loop $Li
        f64.const 0 local.set $x
        local.get $a local.get $i i32.const 3 i32.shl i32.add f64.load local.tee $ai
        f64.const 0 f64.gt
        if
          v128.const f64x2 0 0 local.tee $s0 local.set $s1
          i32.const 0 local.set $jb
          block $Bd
            local.get $m4b i32.eqz br_if $Bd
            loop $Ld
              local.get $row local.get $jb i32.add v128.load
              local.get $v local.get $jb i32.add v128.load f64x2.mul local.get $s0 f64x2.add local.set $s0
              local.get $row local.get $jb i32.add v128.load offset=16
              local.get $v local.get $jb i32.add v128.load offset=16 f64x2.mul local.get $s1 f64x2.add local.set $s1
              local.get $jb i32.const 32 i32.add local.tee $jb
              local.get $m4b i32.lt_u br_if $Ld
            end
          end
          local.get $s0 local.get $s1 f64x2.add local.tee $s0 f64x2.extract_lane 0
          local.get $s0 f64x2.extract_lane 1 f64.add local.set $s
          block $Br
            local.get $jb local.get $mb i32.ge_u br_if $Br
            loop $Lr
              local.get $row local.get $jb i32.add f64.load
              local.get $v local.get $jb i32.add f64.load f64.mul local.get $s f64.add local.set $s
              local.get $jb i32.const 8 i32.add local.tee $jb
              local.get $mb i32.lt_u br_if $Lr
            end
          end
          local.get $s f64.const 1e-280 f64.gt
          if
            local.get $ai local.get $s f64.div local.set $x
            local.get $relax
            if
              local.get $u local.get $i i32.const 3 i32.shl i32.add f64.load local.tee $uo
              f64.const 0 f64.gt
              if
                ;; s = r^(2^−k) (the running root), f = r·Π over set bits, x = u_old·f
                local.get $x local.get $uo f64.div local.tee $s local.set $f
                local.get $relax local.set $r
                loop $Lw
                  local.get $s f64.sqrt local.set $s
                  local.get $r i32.const 1 i32.and
                  if
                    local.get $s local.get $f f64.mul local.set $f
                  end
                  local.get $r i32.const 1 i32.shr_u local.tee $r
                  br_if $Lw
                end
                local.get $uo local.get $f f64.mul local.set $x
              end
            end
          else
            local.get $bad i32.const 1 i32.add local.set $bad
          end
        end
        local.get $u local.get $i i32.const 3 i32.shl i32.add local.get $x f64.store
        local.get $x f64.const 0 f64.ne
        if
          local.get $x f64x2.splat local.set $xs
          i32.const 0 local.set $jb
          block $Bc
            local.get $m4b i32.eqz br_if $Bc
            loop $Lc
              local.get $col local.get $jb i32.add
              local.get $col local.get $jb i32.add v128.load
              local.get $row local.get $jb i32.add v128.load local.get $xs f64x2.mul f64x2.add v128.store
              local.get $col local.get $jb i32.add
              local.get $col local.get $jb i32.add v128.load offset=16
              local.get $row local.get $jb i32.add v128.load offset=16 local.get $xs f64x2.mul f64x2.add v128.store offset=16
              local.get $jb i32.const 32 i32.add local.tee $jb
              local.get $m4b i32.lt_u br_if $Lc
            end
          end
          block $Bq
            local.get $jb local.get $mb i32.ge_u br_if $Bq
            loop $Lq
              local.get $col local.get $jb i32.add
              local.get $col local.get $jb i32.add f64.load
              local.get $row local.get $jb i32.add f64.load local.get $x f64.mul f64.add f64.store
              local.get $jb i32.const 8 i32.add local.tee $jb
              local.get $mb i32.lt_u br_if $Lq
            end
          end
        end
        local.get $row local.get $mb i32.add local.set $row
        local.get $i i32.const 1 i32.add local.tee $i
        local.get $n i32.lt_u br_if $Li
      end
    end
    local.get $bad)

  ;; The Sinkhorn kernel with its potentials absorbed (sinkhorn.ts's rebuildKernel): for each row i,
  ;; K[i,j] = exp((α[i] + β[j] − M[i,j])/reg) and col[j] = Σ_i K[i,j] (col is overwritten).
  ;; exp in f64x2: x = k·ln2 + r with k = nearest(x·log2 e) and |r| ≤ ln2/2 (ln2 split in two, so
  ;; k·ln2_hi is exact), exp(r) by its Taylor series to r^13 (truncation < 1e-17 relative), and 2^k
  ;; built in the exponent bits: k + (2^52 + 1023) holds k + 1023 in its low bits, shifted up by 52.
  ;; Within 2 ulp of Math.exp; x is clamped to 709 above, and below −708.39 (2^k subnormal) K is 0.
  (func (export "expKernel")
    (param $alpha i32) (param $beta i32) (param $M i32) (param $K i32) (param $col i32) (param $n i32) (param $m i32)
    (param $reg f64)
    (local $i i32) (local $jb i32) (local $mb i32) (local $ro i32) (local $pair i32)
    (local $ai v128) (local $regs v128) (local $x v128) (local $k v128) (local $r v128) (local $y v128) (local $low v128)
    local.get $m i32.const 3 i32.shl local.set $mb
    local.get $reg f64x2.splat local.set $regs
    ;; col = 0
    i32.const 0 local.set $jb
    block $Bz
      local.get $mb i32.eqz br_if $Bz
      loop $Lz
        local.get $col local.get $jb i32.add f64.const 0 f64.store
        local.get $jb i32.const 8 i32.add local.tee $jb
        local.get $mb i32.lt_u br_if $Lz
      end
    end
    i32.const 0 local.set $i
    i32.const 0 local.set $ro
    block $Done
      local.get $n i32.eqz br_if $Done
      local.get $m i32.eqz br_if $Done
      loop $Li
        local.get $alpha local.get $i i32.const 3 i32.shl i32.add v128.load64_splat local.set $ai
        i32.const 0 local.set $jb
        loop $Lj
          ;; a full pair, or the odd last column in both lanes
          local.get $jb i32.const 8 i32.add local.get $mb i32.lt_u local.tee $pair
          if
            local.get $ai local.get $beta local.get $jb i32.add v128.load f64x2.add
            local.get $M local.get $ro i32.add local.get $jb i32.add v128.load f64x2.sub
            local.set $x
          else
            local.get $ai local.get $beta local.get $jb i32.add v128.load64_splat f64x2.add
            local.get $M local.get $ro i32.add local.get $jb i32.add v128.load64_splat f64x2.sub
            local.set $x
          end
          local.get $x local.get $regs f64x2.div local.tee $x
          v128.const f64x2 -708.39 -708.39 f64x2.lt local.set $low
          local.get $x v128.const f64x2 -708.39 -708.39 f64x2.max
          v128.const f64x2 709 709 f64x2.min local.tee $x
          v128.const f64x2 1.4426950408889634 1.4426950408889634 f64x2.mul f64x2.nearest local.tee $k
          v128.const f64x2 0.6931471803691238 0.6931471803691238 f64x2.mul local.set $r
          local.get $x local.get $r f64x2.sub
          local.get $k v128.const f64x2 1.9082149292705877e-10 1.9082149292705877e-10 f64x2.mul f64x2.sub local.set $r
          v128.const f64x2 1.6059043836821616e-10 1.6059043836821616e-10
          local.get $r f64x2.mul v128.const f64x2 2.08767569878681e-09 2.08767569878681e-09 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 2.505210838544172e-08 2.505210838544172e-08 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 2.7557319223985894e-07 2.7557319223985894e-07 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 0.0001984126984126984 0.0001984126984126984 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 0.001388888888888889 0.001388888888888889 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 0.008333333333333333 0.008333333333333333 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 0.041666666666666664 0.041666666666666664 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 0.16666666666666666 0.16666666666666666 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 0.5 0.5 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 1.0 1.0 f64x2.add
          local.get $r f64x2.mul v128.const f64x2 1.0 1.0 f64x2.add
          local.get $k v128.const f64x2 4503599627371519 4503599627371519 f64x2.add i32.const 52 i64x2.shl
          f64x2.mul
          local.get $low v128.andnot local.set $y
          local.get $pair
          if
            local.get $K local.get $ro i32.add local.get $jb i32.add local.get $y v128.store
            local.get $col local.get $jb i32.add
            local.get $col local.get $jb i32.add v128.load local.get $y f64x2.add v128.store
          else
            local.get $K local.get $ro i32.add local.get $jb i32.add local.get $y f64x2.extract_lane 0 f64.store
            local.get $col local.get $jb i32.add
            local.get $col local.get $jb i32.add f64.load local.get $y f64x2.extract_lane 0 f64.add f64.store
          end
          local.get $jb i32.const 16 i32.add local.tee $jb
          local.get $mb i32.lt_u br_if $Lj
        end
        local.get $ro local.get $mb i32.add local.set $ro
        local.get $i i32.const 1 i32.add local.tee $i
        local.get $n i32.lt_u br_if $Li
      end
    end)
)
