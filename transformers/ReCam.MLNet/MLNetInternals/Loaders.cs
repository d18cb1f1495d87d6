// ML.NET internal API, part 3 of this folder: loader registration. The LoadableClass attributes name this assembly's
// loaders so that MLContext.Model.Load finds them in any process without a registration call (the VersionInfo written
// with each component carries this assembly's name).
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using ReCam.MLNet;

[assembly: LoadableClass(typeof(ClassActivationMapTransformer), typeof(ClassActivationMapLoader), null, typeof(SignatureLoadModel),
    "ReCam class activation maps", ClassActivationMapTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(ClassActivationMapLoader), null, typeof(SignatureLoadRowMapper),
    "ReCam class activation maps", ClassActivationMapTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(ReactivatedClassActivationMapTransformer), typeof(ReactivatedClassActivationMapLoader), null, typeof(SignatureLoadModel),
    "ReCam re-activated class activation maps", ReactivatedClassActivationMapTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(ReactivatedClassActivationMapLoader), null, typeof(SignatureLoadRowMapper),
    "ReCam re-activated class activation maps", ReactivatedClassActivationMapTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(MaskRefinerTransformer), typeof(MaskRefinerLoader), null, typeof(SignatureLoadModel),
    "ReCam mask refiner", MaskRefinerTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(MaskRefinerLoader), null, typeof(SignatureLoadRowMapper),
    "ReCam mask refiner", MaskRefinerTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(DeepLabSegmentationTransformer), typeof(DeepLabSegmentationLoader), null, typeof(SignatureLoadModel),
    "ReCam DeepLab segmenter", DeepLabSegmentationTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(DeepLabSegmentationLoader), null, typeof(SignatureLoadRowMapper),
    "ReCam DeepLab segmenter", DeepLabSegmentationTransformer.LoaderSignature)]

namespace ReCam.MLNet;

/// <summary>Loads a saved <see cref="ClassActivationMapTransformer"/>.</summary>
internal static class ClassActivationMapLoader
{
    private static ClassActivationMapTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        ClassActivationMapTransformer.Load(MapTransformerBase.OpenState(env, ctx, ClassActivationMapTransformer.ModelFormat, typeof(ClassActivationMapTransformer)));

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).CreateRowMapper(inputSchema);
}

/// <summary>Loads a saved <see cref="ReactivatedClassActivationMapTransformer"/>.</summary>
internal static class ReactivatedClassActivationMapLoader
{
    private static ReactivatedClassActivationMapTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        ReactivatedClassActivationMapTransformer.Load(MapTransformerBase.OpenState(env, ctx, ReactivatedClassActivationMapTransformer.ModelFormat,
            typeof(ReactivatedClassActivationMapTransformer)));

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).CreateRowMapper(inputSchema);
}

/// <summary>Loads a saved <see cref="MaskRefinerTransformer"/>.</summary>
internal static class MaskRefinerLoader
{
    private static MaskRefinerTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        MaskRefinerTransformer.Load(ModelState.Open(env, ctx, MaskRefinerTransformer.ModelFormat, typeof(MaskRefinerTransformer)));

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).CreateRowMapper(inputSchema);
}

/// <summary>Loads a saved <see cref="DeepLabSegmentationTransformer"/>.</summary>
internal static class DeepLabSegmentationLoader
{
    private static DeepLabSegmentationTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        DeepLabSegmentationTransformer.Load(ModelState.Open(env, ctx, DeepLabSegmentationTransformer.ModelFormat, typeof(DeepLabSegmentationTransformer)));

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).CreateRowMapper(inputSchema);
}
