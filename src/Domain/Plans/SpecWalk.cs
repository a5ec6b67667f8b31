using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace DeployDeck.Domain.Plans;

/// <summary>A scalar inside a plan and where it is: <c>phases[0].services[2].environment.DB_URL</c>.</summary>
public readonly record struct SpecLeaf(string Path, object? Value);

/// <summary>
/// Walks a plan's records by reflection: every settable property, list item and dictionary entry, down to scalars.
/// Validation, masking and the diff use it so that a field added to <see cref="ServiceSpec"/> or <see cref="PlanSpec"/>
/// is checked, masked and compared without anyone remembering to list it.
/// </summary>
public static class SpecWalk
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Properties = new();

    /// <summary>The stored properties of a record: public, instance, with an init or set accessor (so not <c>AllServices</c>, <c>Deadline</c>).</summary>
    public static PropertyInfo[] StoredProperties(Type type) => Properties.GetOrAdd(type, t => t
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0)
        .ToArray());

    /// <summary>A scalar: nothing to walk into (strings, numbers, enums, units such as <c>MemorySize</c>).</summary>
    public static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type.IsValueType || type == typeof(string) || type == typeof(decimal);
    }

    /// <summary>The JSON name of a property: camelCase, as the API shows it.</summary>
    public static string Name(PropertyInfo property) => char.ToLowerInvariant(property.Name[0]) + property.Name[1..];

    public static IEnumerable<SpecLeaf> Leaves(object? value, string path = "")
    {
        var leaves = new List<SpecLeaf>();
        Visit(value, path, (p, v, isKey) =>
        {
            if (!isKey)
                leaves.Add(new(p, v));
        });
        return leaves;
    }

    /// <summary>Calls <paramref name="visit"/> for every scalar (isKey false) and every dictionary key (isKey true, path of its entry).</summary>
    public static void Visit(object? value, string path, Action<string, object?, bool> visit) => Walk(value, path, visit, depth: 0);

    private static void Walk(object? value, string path, Action<string, object?, bool> visit, int depth)
    {
        // Plans and requests are a few levels deep; this guards against a cycle, not a real document.
        if (depth > 32)
            throw new InvalidOperationException($"{path}: nested deeper than any plan");
        switch (value)
        {
            case null:
                visit(path, null, false);
                return;
            case var scalar when IsScalar(scalar.GetType()):
                visit(path, scalar, false);
                return;
            case IDictionary dictionary:
                foreach (var key in dictionary.Keys.Cast<object>().OrderBy(k => k.ToString(), StringComparer.Ordinal))
                {
                    var entry = Join(path, key.ToString() ?? "");
                    visit(entry, key, true);
                    Walk(dictionary[key], entry, visit, depth + 1);
                }

                return;
            case IEnumerable items:
                var i = 0;
                foreach (var item in items)
                    Walk(item, $"{path}[{i++}]", visit, depth + 1);
                return;
            default:
                foreach (var property in StoredProperties(value.GetType()))
                    Walk(property.GetValue(value), Join(path, Name(property)), visit, depth + 1);
                return;
        }
    }

    /// <summary>
    /// A copy of <paramref name="value"/> with every string replaced by what <paramref name="map"/> makes of it (by path);
    /// records are cloned and only the properties that change are set, so unknown fields travel unchanged.
    /// </summary>
    public static T Map<T>(T value, Func<string, string, string> map, string path = "") => (T)MapValue(value, typeof(T), path, map, 0)!;

    private static object? MapValue(object? value, Type declared, string path, Func<string, string, string> map, int depth)
    {
        if (depth > 32)
            throw new InvalidOperationException($"{path}: nested deeper than any plan");
        switch (value)
        {
            case null:
                return null;
            case string s:
                return map(path, s);
            case var scalar when IsScalar(scalar.GetType()):
                return scalar;
            case IDictionary dictionary:
            {
                var type = value.GetType();
                var valueType = type.IsGenericType ? type.GetGenericArguments()[^1] : typeof(object);
                var copy = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), valueType), StringComparer.Ordinal)!;
                foreach (DictionaryEntry entry in dictionary)
                {
                    var key = entry.Key.ToString() ?? "";
                    copy[key] = MapValue(entry.Value, valueType, Join(path, key), map, depth + 1);
                }

                return copy;
            }

            case IEnumerable items:
            {
                var itemType = value.GetType().IsArray ? value.GetType().GetElementType()!
                    : value.GetType().GetInterfaces().Append(value.GetType()).FirstOrDefault(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0] ?? typeof(object);
                var copy = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(itemType))!;
                var i = 0;
                foreach (var item in items)
                    copy.Add(MapValue(item, itemType, $"{path}[{i++}]", map, depth + 1));
                return copy;
            }

            default:
            {
                var type = value.GetType();
                // Records have a compiler-made clone; a type without one is returned as it is (nothing of a plan is).
                if (type.GetMethod("<Clone>$") is not { } clone)
                    return value;
                object? copy = null;
                foreach (var property in StoredProperties(type))
                {
                    var before = property.GetValue(value);
                    var after = MapValue(before, property.PropertyType, Join(path, Name(property)), map, depth + 1);
                    if (before is null || SameValue(before, after))
                        continue;
                    copy ??= clone.Invoke(value, null);
                    property.SetValue(copy, after);
                }

                return copy ?? value;
            }
        }
    }

    public static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>Equal scalars at equal paths: deep equality of two records, lists and dictionaries included.</summary>
    public static bool SameValue(object? a, object? b) => Leaves(a).SequenceEqual(Leaves(b));

    /// <summary>The value for a person to read: its own <c>ToString()</c> when the type wrote one, else its fields.</summary>
    public static string? Describe(object? value) => value switch
    {
        null => null,
        string s => s,
        TimeSpan t => Units.Durations.Format(t),
        IFormattable f when IsScalar(value.GetType()) => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ when IsScalar(value.GetType()) => value.ToString(),
        IDictionary d => string.Join(", ", d.Keys.Cast<object>().Select(k => $"{k}={Describe(d[k])}")),
        IEnumerable items => string.Join(", ", items.Cast<object?>().Select(Describe)),
        _ when HasOwnToString(value.GetType()) => value.ToString(),
        _ => string.Join(", ", StoredProperties(value.GetType()).Select(p => (p, v: p.GetValue(value))).Where(x => x.v is not null)
            .Select(x => $"{Name(x.p)} {Describe(x.v)}")),
    };

    /// <summary>A ToString a person wrote, not the one the compiler writes for every record ("Type { A = … }").</summary>
    private static bool HasOwnToString(Type type)
    {
        var method = type.GetMethod(nameof(ToString), BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
        return method is not null && method.DeclaringType == type && method.GetCustomAttribute<CompilerGeneratedAttribute>() is null;
    }
}
